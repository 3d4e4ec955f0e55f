"""Floods of unknown codes: limited per client address in process, never holding the main pool, and
their orphan visits kept only for the retention."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from loupe.clicks.jobs import forget_orphan_visits
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks.support import flush, make_link, redirect_client, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio

FLOOD = {"x-forwarded-for": "198.51.100.7"}
VISITOR = {"x-forwarded-for": "192.0.2.44"}


def _flood_settings(**extra: object) -> dict[str, object]:
    return {"trusted_proxy_header": "X-Forwarded-For", "redirect_miss_burst": 5, "redirect_miss_rate": 0.01, **extra}


async def test_an_address_past_its_misses_gets_429_and_records_nothing_while_links_still_redirect(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db, **_flood_settings()) as client:
        assert (await client.get(f"/l/{link['code']}", headers=FLOOD)).status_code == 302  # cached from now on
        answers = [(await client.get(f"/l/nope{i}", headers=FLOOD)).status_code for i in range(8)]
        assert answers == [404] * 5 + [429] * 3
        limited = await client.get("/l/nope-again", headers=FLOOD)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert (await client.get("/l/nope0", headers=FLOOD)).status_code == 429  # cached "no such link" too
        assert (await client.get(f"/l/{link['code']}", headers=FLOOD)).status_code == 302  # a real link: never
        assert (await client.get("/l/nope0", headers=VISITOR)).status_code == 404  # another address: its own
    await flush(db, settings, redis_url)
    orphans = await sql(db, "SELECT code FROM orphan_visits")
    assert len(orphans) == 6  # the 5 misses of the flood and the visitor's; none of the 429s
    assert len(await sql(db, "SELECT id FROM clicks")) == 2


async def test_a_flooding_address_looks_up_on_the_miss_pool_so_a_visitor_never_waits_behind_it(
    settings: Settings, db: ProcessContext, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db, **_flood_settings(redirect_miss_burst=1000)) as client:
        assert (await client.get("/l/unknown-1", headers=FLOOD)).status_code == 404  # now a suspect
        state = client.app.state.redirect.state  # type: ignore[attr-defined]
        held = [await state.miss_pool.acquire() for _ in range(state.miss_pool.get_max_size())]
        try:
            flood = [asyncio.create_task(client.get(f"/l/unknown-{i}", headers=FLOOD)) for i in range(2, 12)]
            async with asyncio.timeout(10):  # the flood's lookups now wait for the held miss pool
                while state.links.lookups_in_flight < len(flood):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            visitor = await client.get(f"/l/{link['code']}", headers=VISITOR)  # uncached: a lookup
            assert visitor.status_code == 302
            assert not any(task.done() for task in flood)  # still queued behind the miss pool
        finally:
            for connection in held:
                await state.miss_pool.release(connection)
        assert {(await task).status_code for task in flood} <= {404, 503}


async def test_orphan_visits_older_than_the_retention_are_deleted(db: ProcessContext) -> None:
    now = datetime.now(UTC)
    ages = {"old": now - timedelta(days=91), "older": now - timedelta(days=400), "recent": now - timedelta(days=89)}
    for code, at in ages.items():
        await sql(
            db,
            "INSERT INTO orphan_visits (id, visited_at, code, device, bot, visitor_hash) "
            "VALUES (:id, :at, :code, 'desktop', false, '')",
            id=str(uuid.uuid4()), at=at, code=code,
        )  # fmt: skip
    assert await forget_orphan_visits(db, now - timedelta(days=db.settings.orphan_visit_retention_days)) == 2
    assert [row["code"] for row in await sql(db, "SELECT code FROM orphan_visits")] == ["recent"]
