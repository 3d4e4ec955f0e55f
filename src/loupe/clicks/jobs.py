"""Worker jobs of the click pipeline: the flush (every two seconds), the fold of the days that are over
into day rows (hourly) and partition upkeep (daily)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from loupe.clicks.flush import ClickFlusher, FlushStats
from loupe.clicks.partitions import ensure_partitions
from loupe.clicks.pg import engine_transaction
from loupe.clicks.rollups import fold_day
from loupe.config import Settings
from loupe.kit.context import ProcessContext

log = structlog.get_logger("loupe.clicks.jobs")
VISITOR_DAYS_KEPT = 7  # first-visit keys older than this are not needed to flag new clicks
# Two, not one: while one flush enriches its batch in Python, the other's statement runs in PostgreSQL
# (draining 1M clicks: 97-107 s with two, 130 s with one, 95-118 s with no bound but the 60 s timeouts).
FLUSHES_PER_WORKER = 2
_flushing: dict[int, int] = {}  # cron flushes running, by process (ProcessContext id)


def flusher(process: ProcessContext, redis: Any, settings: Settings) -> ClickFlusher:
    return ClickFlusher(
        redis,
        engine_transaction(process.engine),
        stream=settings.click_stream,
        group=settings.click_group,
        batch_entries=max(1, settings.click_flush_batch // 50),
        max_clicks=settings.click_flush_batch,
        reclaim_idle_ms=settings.click_reclaim_idle_ms,
    )


async def flush_clicks(ctx: dict[str, Any], max_seconds: float = 5.0) -> dict[str, int]:
    """Move buffered clicks into PostgreSQL; idempotent, safe to run on many workers at once.

    At most `FLUSHES_PER_WORKER` at once per worker: the cron starts one every 2 s, and a flush of a backlog
    runs longer. Unbounded, they piled up to the worker's 20 jobs under a backlog, each slower for the others
    (they upsert the same roll-up rows, so each waits on the others' commits), until they hit the job's 60 s
    timeout, were rolled back and their clicks redelivered 30 s later. A cron run beyond the bound returns
    at once: the running flushes go on, and the next cron after one ends continues."""
    process: ProcessContext = ctx["process"]
    key = id(process)  # arq gives each job a copy of ctx: the process is what they share
    if _flushing.get(key, 0) >= FLUSHES_PER_WORKER:
        return asdict(FlushStats())
    _flushing[key] = _flushing.get(key, 0) + 1
    try:
        redis = ctx.get("redis") or process.arq
        stats = await flusher(process, redis, process.settings).flush(max_seconds=max_seconds)
    finally:
        _flushing[key] -= 1
        if not _flushing[key]:
            del _flushing[key]
    if stats.entries:
        log.info("clicks_flushed", **asdict(stats))
    return asdict(stats)


async def fold_click_rollups(ctx: dict[str, Any]) -> dict[str, Any]:
    """Fold every UTC day that is over and not folded yet into its day rows, one day per transaction (each
    holds the flushes back for the time it sums one day's hour rows)."""
    process: ProcessContext = ctx["process"]
    folded = []
    while True:
        async with engine_transaction(process.engine)() as conn:
            day = await fold_day(conn, datetime.now(UTC))
        if day is None:
            break
        folded.append(day.date().isoformat())
    if folded:
        log.info("click_rollups_folded", days=folded)
    return {"folded": folded}


# At most one flush from requests per process at a time: every conversion whose click is not in PostgreSQL
# yet waits for the same one (each would otherwise hold a connection for up to 3 s, and a few dozen unknown
# click ids would take the whole pool from everyone else).
_inline_flushes: dict[int, asyncio.Task[None]] = {}


async def flush_buffered_clicks(process: ProcessContext, max_seconds: float = 2.0) -> None:
    """A bounded flush from a request (a conversion whose click may still be buffered); never fails it.
    Joins the flush already running in this process, if there is one."""
    key = id(process)
    running = _inline_flushes.get(key)
    if running is None or running.done():
        running = _inline_flushes[key] = asyncio.ensure_future(_inline_flush(process, max_seconds))

        def forget(task: asyncio.Task[None]) -> None:
            if _inline_flushes.get(key) is task:
                del _inline_flushes[key]

        running.add_done_callback(forget)
    await asyncio.shield(running)  # a caller that gives up leaves the others their flush


async def _inline_flush(process: ProcessContext, max_seconds: float) -> None:
    try:
        await asyncio.wait_for(
            flusher(process, process.arq, process.settings).flush(max_seconds=max_seconds), timeout=max_seconds + 1
        )
    except Exception as exc:  # Redis or PostgreSQL trouble: the caller answers "unknown click"
        log.warning("inline_click_flush_failed", error=type(exc).__name__)


async def maintain_clicks(ctx: dict[str, Any]) -> dict[str, Any]:
    """Create the coming months' click partitions; forget first-visit keys nobody needs any more, and
    the visitor salts of days that are over (after that no stored hash can be tied to an IP)."""
    process: ProcessContext = ctx["process"]
    today = datetime.now(UTC).date()
    async with engine_transaction(process.engine)() as conn:
        created = await ensure_partitions(conn, today)
        pruned = await conn.execute(
            "DELETE FROM click_visitors WHERE day < $1", today - timedelta(days=VISITOR_DAYS_KEPT)
        )
        # Yesterday's salt stays a while for clicks flushed late after midnight.
        salts = await conn.execute("DELETE FROM visitor_salts WHERE day < $1", today - timedelta(days=1))
    orphans = await forget_orphan_visits(
        process, datetime.now(UTC) - timedelta(days=process.settings.orphan_visit_retention_days)
    )
    done = {
        "created": created,
        "pruned": int(pruned.rsplit(" ", 1)[-1]),
        "salts_dropped": int(salts.rsplit(" ", 1)[-1]),
        "orphan_visits_dropped": orphans,
    }
    if any(done.values()):
        log.info("clicks_maintained", **done)
    return done


ORPHAN_DELETE_BATCH = 5_000


async def forget_orphan_visits(process: ProcessContext, before: datetime) -> int:
    """Orphan visits older than the retention go, a batch per transaction, so a flood's backlog never
    holds one long lock or one huge WAL burst."""
    dropped = 0
    while True:
        async with engine_transaction(process.engine)() as conn:
            status = await conn.execute(
                "DELETE FROM orphan_visits WHERE id IN (SELECT id FROM orphan_visits WHERE visited_at < $1 LIMIT $2)",
                before,
                ORPHAN_DELETE_BATCH,
            )
        count = int(status.rsplit(" ", 1)[-1])
        dropped += count
        if count < ORPHAN_DELETE_BATCH:
            return dropped
