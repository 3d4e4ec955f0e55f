"""`loupe stats rebuild`: recounts roll-ups that went wrong (or were never kept) while flushes go on."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

from loupe.clicks.pg import engine_transaction
from loupe.clicks.rollups import insert_clicks
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from loupe.stats.rebuild import rebuild
from tests.clicks.rollup_support import (
    click_columns,
    click_recount,
    click_rollups,
    conversion_recount,
    conversion_rollups,
    enqueue,
    raw_clicks,
    raw_conversions,
)
from tests.clicks.support import flush, insert_click, make_link, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


async def test_a_rebuild_during_flushes_recounts_exactly_without_blocking_them(
    db: ProcessContext, settings: Settings, redis_url: str, tenant: Tenant
) -> None:
    rng = random.Random(4)
    links = [await make_link(db, tenant.workspace_id) for _ in range(2)]
    async with engine_transaction(db.engine)() as conn:
        await insert_clicks(conn, click_columns(links, tenant.workspace_id, 800, rng))
        # What an old flusher (before the roll-ups) stored: clicks without their sums.
        await insert_clicks(conn, click_columns(links, tenant.workspace_id, 200, rng), rollups=False)
    await raw_conversions(db, tenant.workspace_id, rng)  # raw: no roll-ups either
    await sql(db, "UPDATE click_rollups SET clicks = clicks + 5 WHERE dimension = 'country'")  # plain wrong
    stale = await insert_click(db, links[0], tenant.workspace_id, "2026-01-15T10:00:00+00:00")
    await sql(db, "DELETE FROM clicks WHERE id = :id", id=stale)  # a sum of a click that is gone
    assert await click_rollups(db) != await click_recount(db)

    redis = Redis.from_url(redis_url)
    try:
        await enqueue(redis, settings, raw_clicks(links, 600, rng), per_entry=20)
        flushing = asyncio.create_task(_flush_until_empty(db, settings, redis_url))
        done = await rebuild(engine_transaction(db.engine), days=3)
        await flushing
    finally:
        await redis.aclose()
    assert done.links == 2 and done.chunks > 10
    assert len(await sql(db, "SELECT id FROM clicks")) == 1600
    assert await click_rollups(db) == await click_recount(db)
    assert await conversion_rollups(db) == await conversion_recount(db)


async def _flush_until_empty(db: ProcessContext, settings: Settings, redis_url: str) -> Any:
    """One entry per transaction, so the rebuild's chunks and the flush's batches interleave."""
    while (await flush(db, settings, redis_url, batch_entries=1)).entries:
        pass


async def test_writers_store_clicks_while_a_rebuild_chunk_holds_its_lock(db: ProcessContext, tenant: Tenant) -> None:
    rng = random.Random(9)
    links = [await make_link(db, tenant.workspace_id)]
    inner = engine_transaction(db.engine)
    async with inner() as conn:
        await insert_clicks(conn, click_columns(links, tenant.workspace_id, 300, rng))
    written: list[int] = []
    held: list[str] = []

    @asynccontextmanager
    async def chunk_then_write() -> AsyncIterator[Any]:
        async with inner() as conn:
            yield conn
            if not written and await conn.fetchval(HOLDS_EXCLUSIVE):  # inside a chunk, its lock still held
                held.extend(await conn.fetch(CLICK_LOCKS))
                async with inner() as writer:  # a table lock would make this insert fail, not wait forever
                    await writer.execute("SET LOCAL lock_timeout = '30s'")
                    columns = click_columns(links, tenant.workspace_id, 50, rng)
                    written.append(await insert_clicks(writer, columns, rollups=False))

    done = await rebuild(chunk_then_write, days=3)
    assert written == [50] and done.chunks > 1
    assert {row["mode"] for row in held} <= {"AccessShareLock"}  # reads the clicks, never locks them for writers
    assert len(await sql(db, "SELECT id FROM clicks")) == 350


HOLDS_EXCLUSIVE = (
    "SELECT count(*) > 0 FROM pg_locks "
    "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND mode = 'ExclusiveLock'"
)
CLICK_LOCKS = (
    "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
    "WHERE l.pid = pg_backend_pid() AND c.relname LIKE 'clicks%'"
)
