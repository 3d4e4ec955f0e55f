"""`loupe stats rebuild`: recount every roll-up from the raw clicks and conversions, a chunk at a time.

Each chunk (one link, `days` UTC days) is one short transaction under the roll-ups' exclusive advisory
lock: flushes and conversions wait for that chunk (milliseconds), the click tables are never locked, and
what lands between two chunks is counted exactly once (by the flush, or by the chunk that reads it).
Once a workspace's links are recounted, its campaign and workspace rows are summed again from the link rows,
one UTC day per chunk, under the same lock. Safe to run at any time and as often as wanted; the answer is
the same as a recount.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import asyncpg

from loupe.clicks import rollups as clicks
from loupe.clicks.flush import Transaction
from loupe.clicks.pg import asyncpg_dsn, pool_transaction
from loupe.conversions import rollups as conversions

WORKSPACES = "SELECT id FROM workspaces WHERE $1::uuid IS NULL OR id = $1 ORDER BY id"
LINKS = "SELECT id FROM tracking_links WHERE workspace_id = $1 ORDER BY id"
CAMPAIGNS = "SELECT id FROM campaigns WHERE workspace_id = $1 ORDER BY id"


@dataclass
class Rebuilt:
    links: int = 0
    chunks: int = 0


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _whole_days(found: list[datetime | None]) -> tuple[datetime, datetime] | None:
    moments = [moment for moment in found if moment is not None]
    if not moments:
        return None
    return _day(min(moments)), _day(max(moments)) + timedelta(days=1)


async def _span(transaction: Transaction, link_id: uuid.UUID) -> tuple[datetime, datetime] | None:
    """The whole UTC days covering the link's clicks, conversions and existing roll-ups."""
    async with transaction() as conn:
        return _whole_days(
            [*await conn.fetchrow(clicks.RANGE, link_id), *await conn.fetchrow(conversions.RANGE, link_id)]
        )


async def _chunks(
    transaction: Transaction,
    span: tuple[datetime, datetime],
    days: int,
    recount: Callable[[Any, datetime, datetime], Awaitable[None]],
) -> int:
    """`recount(conn, start, end)` over the span, `days` at a time, each chunk under the exclusive lock."""
    start, end = span
    done = 0
    while start < end:
        chunk_end = min(start + timedelta(days=days), end)
        async with transaction() as conn:
            await conn.execute(clicks.HOLD_EXCLUSIVE)
            await recount(conn, start, chunk_end)
        done += 1
        start = chunk_end
    return done


async def _rebuild_workspace(transaction: Transaction, workspace_id: uuid.UUID, days: int, done: Rebuilt) -> None:
    async with transaction() as conn:
        link_ids = [row["id"] for row in await conn.fetch(LINKS, workspace_id)]
        scope_ids = [workspace_id, *(row["id"] for row in await conn.fetch(CAMPAIGNS, workspace_id))]
        found = [
            *await conn.fetchrow(clicks.SCOPES_RANGE, scope_ids),
            *await conn.fetchrow(conversions.SCOPES_RANGE, scope_ids),
        ]

    async def recount_link(conn: Any, start: datetime, end: datetime, link_id: uuid.UUID) -> None:
        await clicks.rebuild_link(conn, link_id, start, end)
        await conversions.rebuild_link(conn, link_id, start, end)

    async def recount_scopes(conn: Any, start: datetime, end: datetime) -> None:
        await clicks.rebuild_scopes(conn, scope_ids, link_ids, start, end)
        await conversions.rebuild_scopes(conn, scope_ids, link_ids, start, end)

    for link_id in link_ids:
        span = await _span(transaction, link_id)
        done.links += 1
        if span is not None:
            found.extend(span)
            done.chunks += await _chunks(transaction, span, days, partial(recount_link, link_id=link_id))
    span = _whole_days(found)
    if span is not None:  # a day per chunk: the rows of every link of the workspace are read
        done.chunks += await _chunks(transaction, span, 1, recount_scopes)


async def rebuild(
    transaction: Transaction,
    workspace_id: uuid.UUID | None = None,
    *,
    days: int = 7,
    progress: Callable[[Rebuilt], None] | None = None,
) -> Rebuilt:
    """Recount the roll-ups of every workspace (or of one)."""
    done = Rebuilt()
    async with transaction() as conn:
        workspace_ids = [row["id"] for row in await conn.fetch(WORKSPACES, workspace_id)]
    for workspace in workspace_ids:
        await _rebuild_workspace(transaction, workspace, days, done)
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
