"""Per-credential rate limits of /v1 (kit.throttle): headers on every answer, 429 with Retry-After, a
separate limit for conversions postbacks, and no outage when Redis is gone."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from loupe.config import RequestLimit
from loupe.kit.context import ProcessContext
from loupe.kit.throttle import Throttle
from tests.conftest import Tenant


@pytest.fixture
def small_limits(db: ProcessContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.settings.api_limits, "default", RequestLimit(limit=3, seconds=60))
    monkeypatch.setattr(db.settings.api_limits, "conversions", RequestLimit(limit=5, seconds=60))


@pytest.mark.usefixtures("small_limits")
async def test_every_answer_says_the_limit_and_the_request_over_it_is_a_429(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    answers = [await client.get("/v1/reports", headers=tenant.read) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.headers["ratelimit-policy"] for a in answers} == {'"default";q=3;w=60'}
    assert [a.headers["ratelimit"].split(";")[1] for a in answers] == ["r=2", "r=1", "r=0"]
    refused = await client.get("/v1/reports", headers=tenant.read)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429 and "3 requests in 60 seconds" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 20  # one emission interval: 60 s / 3
    assert refused.headers["ratelimit"].startswith('"default";r=0;')
    # Another credential has its own allowance, and its errors carry the headers too.
    missing = await client.get(f"/v1/reports/{uuid.uuid4()}", headers=tenant.write)
    assert missing.status_code == 404 and missing.headers["ratelimit"].startswith('"default";r=2;')


@pytest.mark.usefixtures("small_limits")
async def test_conversions_postbacks_have_their_own_higher_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post("/v1/api-keys", json={"name": "shop", "scopes": ["conversions"]}, headers=tenant.write)
    assert created.status_code == 201, created.text
    shop = {"Authorization": f"Bearer {created.json()['key']}"}
    answers = [await client.post("/v1/conversions", json={}, headers=shop) for _ in range(5)]
    assert [a.status_code for a in answers] == [422] * 5  # over the default limit of 3, within the 5
    assert answers[-1].headers["ratelimit-policy"] == '"conversions";q=5;w=60'
    assert (await client.post("/v1/conversions", json={}, headers=shop)).status_code == 429


@pytest.mark.usefixtures("small_limits")
async def test_redis_unreachable_the_limit_fails_open(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(db, "throttle", Throttle(gone))
    before = REGISTRY.get_sample_value("loupe_rate_limit_unavailable_total") or 0
    answers = [await client.get("/v1/reports", headers=tenant.read) for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert "ratelimit" not in answers[0].headers
    assert REGISTRY.get_sample_value("loupe_rate_limit_unavailable_total") == before + 4
    await gone.aclose()


async def test_two_api_processes_share_one_limit(db: ProcessContext) -> None:
    limit = RequestLimit(limit=2, seconds=60)
    own_connection = Redis(**db.arq.connection_pool.connection_kwargs)  # as another api process has
    other_process = Throttle(own_connection)
    credential = f"key:{uuid.uuid4()}"
    first = await db.throttle.take(credential, "default", limit)
    second = await other_process.take(credential, "default", limit)
    third = await db.throttle.take(credential, "default", limit)
    assert first and second and third
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert second.remaining == 0 and third.retry_after >= 1
    await own_connection.aclose()
