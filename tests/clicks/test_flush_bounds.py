"""What one flush holds: transactions bounded in clicks (an entry carries from one click to 2,000), and
cron flushes bounded per worker (they piled up under a backlog until they all timed out)."""

from __future__ import annotations

import asyncio
import copy
import random
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from loupe.clicks.flush import ClickFlusher
from loupe.clicks.jobs import FLUSHES_PER_WORKER, flush_clicks
from loupe.clicks.pg import asyncpg_dsn, engine_transaction
from loupe.clicks.rollups import ROLLUP_LOCK
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks.rollup_support import enqueue, raw_clicks
from tests.clicks.support import make_link, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def links(db: ProcessContext, tenant: Tenant) -> list[dict[str, Any]]:
    return [await make_link(db, tenant.workspace_id) for _ in range(2)]


async def _transaction_sizes(db: ProcessContext) -> list[int]:
    rows = await sql(db, "SELECT count(*) AS n FROM clicks GROUP BY xmin::text")  # one xmin per transaction
    return sorted(row["n"] for row in rows)


async def test_a_flush_stores_at_most_max_clicks_per_transaction_and_never_splits_an_entry(
    db: ProcessContext, settings: Settings, redis_url: str, links: list[dict[str, Any]]
) -> None:
    clicks = raw_clicks(links, 600, random.Random(3))
    redis = Redis.from_url(redis_url)
    try:
        await enqueue(redis, settings, clicks[:450], per_entry=150)  # full entries, as a busy redirect writes
        await enqueue(redis, settings, clicks[450:], per_entry=30)
        flusher = ClickFlusher(
            redis, engine_transaction(db.engine), stream=settings.click_stream, group=settings.click_group,
            batch_entries=20, max_clicks=100, consumer="bounded",
        )  # fmt: skip
        await flusher.ensure_group()
        stats = await flusher.flush(max_seconds=60)
        assert await redis.xlen(settings.click_stream) == 0
    finally:
        await redis.aclose()
    assert (stats.entries, stats.clicks) == (8, 600)
    # Each entry of 150 alone (larger than the bound, never split); the entries of 30 three, then two, a time.
    assert await _transaction_sizes(db) == [60, 90, 150, 150, 150]


async def test_cron_flushes_beyond_the_bound_return_at_once_and_the_running_ones_drain_the_stream(
    db: ProcessContext, settings: Settings, redis_url: str, links: list[dict[str, Any]]
) -> None:
    clicks = raw_clicks(links, 240, random.Random(4))
    process = copy.copy(db)  # a worker whose flushes read one entry a time
    process.settings = settings.model_copy(update={"click_flush_batch": 50})
    redis = Redis.from_url(redis_url)
    blocker = await asyncpg.connect(asyncpg_dsn(db.engine.url.render_as_string(hide_password=False)))
    ctx = {"process": process, "redis": redis}
    try:
        await enqueue(redis, settings, clicks, per_entry=40)
        await blocker.execute("SELECT pg_advisory_lock($1)", ROLLUP_LOCK)  # what a roll-up rebuild holds
        running = [asyncio.create_task(flush_clicks(ctx, max_seconds=60)) for _ in range(FLUSHES_PER_WORKER)]
        # Each waits on the lock, or on the other's day salt (the first writer's transaction has not ended).
        waiting = "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted"
        for _ in range(600):
            if await blocker.fetchval(waiting) >= FLUSHES_PER_WORKER:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the flushes never waited for the lock")
        # Both are stuck behind the lock: one more returns at once, having read nothing.
        extra = await asyncio.wait_for(flush_clicks(ctx, max_seconds=60), timeout=5)
        assert extra["entries"] == 0
        await blocker.execute("SELECT pg_advisory_unlock($1)", ROLLUP_LOCK)
        results = await asyncio.wait_for(asyncio.gather(*running), timeout=60)
        assert await redis.xlen(settings.click_stream) == 0
    finally:
        await blocker.close()
        await redis.aclose()
    assert sum(r["entries"] for r in results) == 6
    assert sum(r["clicks"] for r in results) == 240
    assert len(await sql(db, "SELECT id FROM clicks")) == 240
    # The bound is per worker, and released: the next cron flush runs again.
    assert (await flush_clicks(ctx, max_seconds=5))["entries"] == 0
