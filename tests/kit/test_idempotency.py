"""`Idempotency-Key`: a POST sent again with the same key answers the first answer and creates nothing more;
the same key with another body is a 422, while the first still runs a 409; per credential."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import text

from loupe.kit.context import ProcessContext
from tests.conftest import Tenant, until_a_lock_is_awaited

pytestmark = pytest.mark.asyncio


async def _reports(db: ProcessContext) -> list[str]:
    async with db.engine.connect() as conn:
        return list((await conn.execute(text("SELECT name FROM reports ORDER BY name"))).scalars())


async def test_the_same_key_and_body_replay_the_first_answer_and_create_once(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/v1/reports", json={"name": "Spring"}, headers={**tenant.write, **key})
    again = await client.post("/v1/reports", json={"name": "Spring"}, headers={**tenant.write, **key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _reports(db) == ["Spring"]
    [entry] = await db.arq.keys("loupe:idempotency:*")
    assert 23 * 3600 < await db.arq.ttl(entry) <= 24 * 3600  # kept a day, then forgotten

    other_body = await client.post("/v1/reports", json={"name": "Summer"}, headers={**tenant.write, **key})
    assert other_body.status_code == 422 and "another request" in other_body.json()["detail"]
    other_route = await client.post("/v1/campaigns", json={"name": "Spring"}, headers={**tenant.write, **key})
    assert other_route.status_code == 422
    assert await _reports(db) == ["Spring"]


async def test_keys_belong_to_their_credential_and_refusals_are_not_kept(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, make_tenant
) -> None:  # type: ignore[no-untyped-def]
    rival = await make_tenant("Rival")
    key = {"Idempotency-Key": "order-42"}
    assert (await client.post("/v1/reports", json={"name": "A"}, headers={**tenant.write, **key})).status_code == 201
    # Another credential with the same key: its own request, not the first one's answer.
    theirs = await client.post("/v1/reports", json={"name": "A"}, headers={**rival.write, **key})
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers
    # A refused credential is not kept: once allowed, the request runs.
    denied = await client.post("/v1/reports", json={"name": "B"}, headers={**tenant.read, "Idempotency-Key": "k2"})
    assert denied.status_code == 403
    allowed = await client.post("/v1/reports", json={"name": "B"}, headers={**tenant.write, "Idempotency-Key": "k2"})
    assert allowed.status_code == 201
    bad = await client.post("/v1/reports", json={"name": "C"}, headers={**tenant.write, "Idempotency-Key": ""})
    assert bad.status_code == 422 and "printable ASCII" in bad.json()["detail"]
    assert len(await _reports(db)) == 3


async def test_the_same_key_while_the_first_request_runs_is_a_409(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant
) -> None:
    """The first request is held on a table lock, so the second certainly arrives while it runs."""
    headers = {**tenant.write, "Idempotency-Key": "held"}
    async with db.engine.connect() as blocker:
        await blocker.execute(text("LOCK TABLE reports IN EXCLUSIVE MODE"))
        first = asyncio.create_task(client.post("/v1/reports", json={"name": "Held"}, headers=headers))
        await until_a_lock_is_awaited(db, first)
        second = await client.post("/v1/reports", json={"name": "Held"}, headers=headers)
        assert second.status_code == 409 and "still in progress" in second.json()["detail"]
        await blocker.rollback()
    assert (await first).status_code == 201
    third = await client.post("/v1/reports", json={"name": "Held"}, headers=headers)
    assert third.status_code == 201 and third.headers["idempotent-replayed"] == "true"
    assert await _reports(db) == ["Held"]


async def test_without_redis_a_request_with_a_key_answers_503_and_creates_nothing(
    client: httpx.AsyncClient, db: ProcessContext, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loupe.kit.embedded import free_port
    from loupe.kit.jobs import create_job_pool

    dead = await create_job_pool(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(db, "arq", dead)
    try:
        answer = await client.post(
            "/v1/reports", json={"name": "Lost"}, headers={**tenant.write, "Idempotency-Key": "x"}
        )
    finally:
        await dead.aclose()
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert await _reports(db) == []
