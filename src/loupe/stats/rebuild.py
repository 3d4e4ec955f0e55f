"""`loupe stats rebuild`: recount every roll-up from the raw clicks and conversions, a chunk at a time.

Each chunk (one link, `days` UTC days) is one short transaction under the roll-ups' exclusive advisory
lock: flushes and conversions wait for that chunk (milliseconds), the click tables are never locked, and
what lands between two chunks is counted exactly once (by the flush, or by the chunk that reads it).
Safe to run at any time and as often as wanted; the answer is the same as a recount.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from loupe.clicks import rollups as clicks
from loupe.clicks.flush import Transaction
from loupe.clicks.pg import asyncpg_dsn, pool_transaction
from loupe.conversions import rollups as conversions

LINKS = "SELECT id FROM tracking_links WHERE $1::uuid IS NULL OR workspace_id = $1 ORDER BY id"


@dataclass
class Rebuilt:
    links: int = 0
    chunks: int = 0


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def _span(transaction: Transaction, link_id: uuid.UUID) -> tuple[datetime, datetime] | None:
    """The whole UTC days covering the link's clicks, conversions and existing roll-ups."""
    async with transaction() as conn:
        found = [*await conn.fetchrow(clicks.RANGE, link_id), *await conn.fetchrow(conversions.RANGE, link_id)]
    moments = [moment for moment in found if moment is not None]
    if not moments:
        return None
    return _day(min(moments)), _day(max(moments)) + timedelta(days=1)


async def rebuild(
    transaction: Transaction,
    workspace_id: uuid.UUID | None = None,
    *,
    days: int = 7,
    progress: Callable[[Rebuilt], None] | None = None,
) -> Rebuilt:
    """Recount the roll-ups of every link (of one workspace, if given)."""
    done = Rebuilt()
    async with transaction() as conn:
        link_ids = [row["id"] for row in await conn.fetch(LINKS, workspace_id)]
    for link_id in link_ids:
        span = await _span(transaction, link_id)
        done.links += 1
        if span is None:
            continue
        start, end = span
        while start < end:
            chunk_end = min(start + timedelta(days=days), end)
            async with transaction() as conn:
                await conn.execute(clicks.HOLD_EXCLUSIVE)
                await clicks.rebuild_link(conn, link_id, start, chunk_end)
                await conversions.rebuild_link(conn, link_id, start, chunk_end)
            done.chunks += 1
            start = chunk_end
        if progress:
            progress(done)
    return done


async def rebuild_database(database_url: str, workspace_id: uuid.UUID | None = None, *, days: int = 7) -> Rebuilt:
    """`rebuild` on its own connection pool (the command line)."""
    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=1)
    try:
        return await rebuild(pool_transaction(pool), workspace_id, days=days)
    finally:
        await pool.close()
