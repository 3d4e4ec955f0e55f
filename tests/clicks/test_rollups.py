"""The flush keeps the click roll-ups equal to a recount of the raw clicks, whatever the delivery does."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from loupe.clicks.flush import ClickFlusher
from loupe.clicks.jobs import fold_click_rollups
from loupe.clicks.pg import engine_transaction
from loupe.clicks.rollups import insert_clicks
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks.rollup_support import click_columns, click_recount, click_rollups, enqueue, raw_clicks
from tests.clicks.support import make_campaign, make_link, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


def _flusher(redis: Redis, db: ProcessContext, settings: Settings, name: str, **options: Any) -> ClickFlusher:
    options = {"batch_entries": 2, "consumer": name, **options}
    transaction = options.pop("transaction", engine_transaction(db.engine))
    return ClickFlusher(redis, transaction, stream=settings.click_stream, group=settings.click_group, **options)


@pytest.fixture
async def links(db: ProcessContext, make_tenant: Any, tenant: Tenant) -> list[dict[str, Any]]:
    other = await make_tenant("Other")
    return [await make_link(db, tenant.workspace_id) for _ in range(3)] + [await make_link(db, other.workspace_id)]


async def _stored_ids(db: ProcessContext) -> list[str]:
    return [row["id"].hex for row in await sql(db, "SELECT id FROM clicks")]


async def test_concurrent_flushes_and_redelivered_entries_add_up_to_a_recount(
    db: ProcessContext, settings: Settings, redis_url: str, links: list[dict[str, Any]]
) -> None:
    clicks = raw_clicks(links, 1200, random.Random(15))
    redis = Redis.from_url(redis_url)
    try:
        await enqueue(redis, settings, clicks, per_entry=40)
        await enqueue(redis, settings, clicks[:200], per_entry=40)  # the same batches again (a spool replay)
        flushers = [_flusher(redis, db, settings, f"flusher-{i}") for i in range(3)]
        await flushers[0].ensure_group()
        results = await asyncio.gather(*(f.flush(max_seconds=60) for f in flushers))
    finally:
        await redis.aclose()
    assert all(r.entries for r in results), "every flusher took part"
    assert sum(r.duplicates for r in results) == 200
    assert sorted(await _stored_ids(db)) == sorted(c.id for c in clicks)
    recount = await click_recount(db)
    assert await click_rollups(db) == recount
    months = {bucket.month for (_, _, _, grain, bucket, _) in recount if grain == "day"}
    assert months == {3, 4}  # the month's end was crossed
    people = sum(n for (_, _, dim, grain, _, _), (n, _, _) in recount.items() if dim == "total" and grain == "day")
    uniques = sum(u for (_, _, dim, grain, _, _), (_, u, _) in recount.items() if dim == "total" and grain == "day")
    assert 0 < uniques < people  # repeat visitors were not counted as unique


async def test_a_flush_that_dies_before_its_commit_or_before_its_ack_counts_each_click_once(
    db: ProcessContext, settings: Settings, redis_url: str, links: list[dict[str, Any]]
) -> None:
    clicks = raw_clicks(links, 300, random.Random(7))
    redis = Redis.from_url(redis_url)
    inner = engine_transaction(db.engine)

    @asynccontextmanager
    async def dies_before_commit() -> AsyncIterator[Any]:
        async with inner() as conn:
            yield conn  # the clicks and their roll-ups are inserted here…
            raise ConnectionError("worker killed")  # …and rolled back together

    class DiesBeforeAck(ClickFlusher):
        async def acknowledge(self, ids: list[Any]) -> None:
            raise ConnectionError("worker killed after the commit")

    try:
        await enqueue(redis, settings, clicks, per_entry=50)
        with pytest.raises(ConnectionError):
            await _flusher(redis, db, settings, "a", transaction=dies_before_commit).flush()
        assert await _stored_ids(db) == [] and await click_rollups(db) == {}

        doomed = DiesBeforeAck(
            redis, inner, stream=settings.click_stream, group=settings.click_group, consumer="b", batch_entries=2
        )
        with pytest.raises(ConnectionError):
            await doomed.flush()
        stored = len(await _stored_ids(db))
        assert 0 < stored < len(clicks)
        assert await click_rollups(db) == await click_recount(db)

        survivor = _flusher(redis, db, settings, "c", reclaim_idle_ms=0, batch_entries=10)
        result = await survivor.flush()
        assert result.reclaimed >= 1 and result.duplicates == stored  # replayed, stored once
    finally:
        await redis.aclose()
    assert sorted(await _stored_ids(db)) == sorted(c.id for c in clicks)
    assert await click_rollups(db) == await click_recount(db)


async def test_a_batch_stored_twice_and_a_link_deleted_since_add_up_to_a_recount(
    db: ProcessContext, tenant: Tenant
) -> None:
    campaign_id = await make_campaign(db, tenant.workspace_id)
    gone = {"id": str(uuid.uuid4())}  # its clicks count for the link and the workspace; its campaign is unknown
    links = [await make_link(db, tenant.workspace_id, campaign_id=campaign_id), gone]
    columns = click_columns(links, tenant.workspace_id, 400, random.Random(16))
    async with engine_transaction(db.engine)() as conn:
        assert await insert_clicks(conn, columns) == 400
    async with engine_transaction(db.engine)() as conn:
        assert await insert_clicks(conn, columns) == 0  # redelivered: nothing stored, nothing added
    rollups = await click_rollups(db)
    assert rollups == await click_recount(db)
    assert {scope for scope, *_ in rollups} == {links[0]["id"], gone["id"], campaign_id, tenant.workspace_id}


async def test_days_folded_while_flushes_run_add_up_to_a_recount(
    db: ProcessContext, settings: Settings, redis_url: str, links: list[dict[str, Any]]
) -> None:
    """The worker folds the days that are over into day rows while flushes store clicks of those days: the
    day rows end where the folds say, and every row equals the recount."""
    await sql(db, "UPDATE click_rollup_folds SET folded_until = :at", at=datetime(2026, 3, 20, tzinfo=UTC))
    clicks = raw_clicks(links, 1200, random.Random(21))
    redis = Redis.from_url(redis_url)
    try:
        await enqueue(redis, settings, clicks, per_entry=20)
        flushers = [_flusher(redis, db, settings, f"flusher-{i}", batch_entries=1) for i in range(2)]
        await flushers[0].ensure_group()
        *results, folds = await asyncio.gather(
            *(f.flush(max_seconds=60) for f in flushers), fold_click_rollups({"process": db})
        )
        assert all(r.entries for r in results)
        assert folds["folded"][0] == "2026-03-20"
        assert sorted(await _stored_ids(db)) == sorted(c.id for c in clicks)
        assert await click_rollups(db) == await click_recount(db)
        assert await fold_click_rollups({"process": db}) == {"folded": []}  # every day that is over is folded
    finally:
        await redis.aclose()
    recount = await click_recount(db)
    assert {grain for (*_, grain, _, _) in recount} == {"hour", "day"}


async def test_a_fold_waits_for_the_flush_in_progress_and_counts_its_clicks(
    db: ProcessContext, links: list[dict[str, Any]]
) -> None:
    """A flush that has stored clicks of a day not folded yet (hour rows only) but not committed: the fold of
    that day waits for it, then sums its clicks into the day rows."""
    await sql(db, "UPDATE click_rollup_folds SET folded_until = :at", at=datetime(2026, 3, 30, tzinfo=UTC))
    ours = [link for link in links if link["workspace_id"] == links[0]["workspace_id"]]
    columns = click_columns(ours, links[0]["workspace_id"], 200, random.Random(4))
    inner = engine_transaction(db.engine)
    async with inner() as flush:
        assert await insert_clicks(flush, columns) == 200
        fold = asyncio.ensure_future(fold_click_rollups({"process": db}))
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        for _ in range(200):  # the fold's transaction queues behind the flush's shared lock
            if (await sql(db, waiting))[0]["count"]:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the fold did not wait for the flush")
        assert not fold.done()
    assert (await fold)["folded"][0] == "2026-03-30"
    assert await click_rollups(db) == await click_recount(db)
