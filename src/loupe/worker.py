"""The worker process: arq with JSON payloads, shared clients built once, jobs idempotent."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any

import structlog
from arq import Worker, cron, func
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.jobs import schedule_refreshes
from loupe.accounts.refresh import JOB_MAX_TRIES, refresh_connection
from loupe.accounts.reminders import remind_expiring
from loupe.accounts.stories import POLL_MINUTES, poll_stories
from loupe.clicks.jobs import flush_clicks, maintain_clicks
from loupe.config import Settings, get_settings
from loupe.connections.jobs import purge_connect_attempts
from loupe.kit.context import ProcessContext
from loupe.kit.jobs import QUEUE_NAME, JobBuffer, deserialize, redis_settings, serialize
from loupe.kit.media import sweep_media
from loupe.kit.migrations import current_heads
from loupe.kit.outbox import deliver_outbox
from loupe.runtime import normalize_database_url

log = structlog.get_logger("loupe.worker")

HEALTH_CHECK_INTERVAL = 10  # seconds; `loupe worker --check` reads the key arq refreshes


@asynccontextmanager
async def job_session(ctx: dict[str, Any]) -> AsyncIterator[tuple[AsyncSession, JobBuffer]]:
    """A job owns its transaction like a request does: commit at the end, then enqueue follow-ups."""
    process: ProcessContext = ctx["process"]
    jobs = JobBuffer()
    async with process.sessionmaker() as session:
        try:
            yield session, jobs
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
    await jobs.flush(process.arq)


async def heartbeat(ctx: dict[str, Any], note: str = "") -> dict[str, Any]:
    """A trivial job: proves a worker takes jobs and reaches PostgreSQL."""
    async with job_session(ctx) as (session, _):
        now = (await session.execute(text("SELECT now()"))).scalar_one()
    return {"note": note, "database_time": now.astimezone(UTC).isoformat(), "job_try": ctx.get("job_try")}


FUNCTIONS: list[Any] = [
    heartbeat,
    flush_clicks,
    maintain_clicks,
    sweep_media,
    deliver_outbox,
    purge_connect_attempts,
    schedule_refreshes,
    remind_expiring,
    poll_stories,
    func(refresh_connection, keep_result=0, max_tries=JOB_MAX_TRIES),  # type: ignore[arg-type,list-item]
]
CRON_JOBS: list[Any] = [
    # Clicks reach PostgreSQL within seconds of the redirect; keep no results of these runs.
    cron(flush_clicks, second=set(range(0, 60, 2)), run_at_startup=True, keep_result=0, timeout=60),  # type: ignore[arg-type]
    cron(maintain_clicks, hour=3, minute=17, second=0, run_at_startup=True, keep_result=0),  # type: ignore[arg-type]
    # Files of deleted stories go within a minute of the delete.
    cron(sweep_media, second=30, run_at_startup=True, keep_result=0, timeout=120),  # type: ignore[arg-type]
    # Outbox emails go within seconds (and at once: each commit that adds some enqueues a run too).
    cron(deliver_outbox, second=set(range(0, 60, 5)), run_at_startup=True, keep_result=0, timeout=120),  # type: ignore[arg-type]
    cron(purge_connect_attempts, minute=41, second=0, keep_result=0),  # type: ignore[arg-type]
    # Each connected account is refreshed once a day in its own slot; this finds the ones due.
    cron(schedule_refreshes, second=0, run_at_startup=True, keep_result=0, unique=True),  # type: ignore[arg-type]
    # Creators hear 7 days and 1 day before an authorisation lapses; lapsed ones become `expired`.
    cron(remind_expiring, minute=7, second=0, run_at_startup=True, keep_result=0, unique=True),  # type: ignore[arg-type]
    # Live Instagram stories (24 h) every 20 minutes: media copied, metrics read until they expire.
    cron(poll_stories, minute=POLL_MINUTES, second=10, run_at_startup=True, keep_result=0, unique=True, timeout=1140),  # type: ignore[arg-type]
]


async def _schema_is_current(process: ProcessContext) -> bool:
    async with process.engine.connect() as conn:
        try:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        except Exception:
            return False
    return set(rows) == current_heads()


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    database_url = ctx.get("database_url") or _configured(settings.database_url, "LOUPE_DATABASE_URL")
    redis_url = ctx.get("redis_url") or _configured(settings.redis_url, "LOUPE_REDIS_URL")
    process = await ProcessContext.create(settings, normalize_database_url(database_url), redis_url)
    if not await _schema_is_current(process):
        await process.close()
        raise RuntimeError("The database schema is behind the code: run `loupe migrate` first.")
    ctx["process"] = process
    log.info(
        "worker_started", functions=[getattr(f, "name", None) or getattr(f, "__name__", repr(f)) for f in FUNCTIONS]
    )


async def shutdown(ctx: dict[str, Any]) -> None:
    process: ProcessContext | None = ctx.get("process")
    if process is not None:
        await process.close()


def _configured(value: SecretStr | None, name: str) -> str:
    if value is None:
        raise RuntimeError(f"{name} must be set (or start the worker with `loupe worker`)")
    return value.get_secret_value()


class WorkerSettings:
    """Also usable as `arq loupe.worker.WorkerSettings` when the URLs are configured."""

    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    queue_name = QUEUE_NAME
    job_serializer = staticmethod(serialize)
    job_deserializer = staticmethod(deserialize)
    on_startup = startup
    on_shutdown = shutdown
    health_check_interval = HEALTH_CHECK_INTERVAL
    job_timeout = get_settings().job_timeout_seconds
    max_jobs = 20
    keep_result = 3600
    # arq logs each job's start and end (cron runs only at DEBUG, see loupe.kit.logging); never results.
    log_results = False
    redis_settings = redis_settings(os.environ["LOUPE_REDIS_URL"]) if os.environ.get("LOUPE_REDIS_URL") else None


def create_worker(
    settings: Settings, database_url: str, redis_url: str, *, burst: bool = False, **overrides: Any
) -> Worker:
    options: dict[str, Any] = {
        name: getattr(WorkerSettings, name)
        for name in (
            "functions",
            "cron_jobs",
            "queue_name",
            "job_serializer",
            "job_deserializer",
            "on_startup",
            "on_shutdown",
            "health_check_interval",
            "max_jobs",
            "keep_result",
            "log_results",
        )
    }
    options.update(
        redis_settings=redis_settings(redis_url),
        job_timeout=settings.job_timeout_seconds,
        burst=burst,
        handle_signals=not burst,
        ctx={"settings": settings, "database_url": database_url, "redis_url": redis_url},
    )
    if burst:
        # A burst worker runs what is queued and exits; periodic jobs would keep it alive (enqueue them).
        options["cron_jobs"] = []
    options.update(overrides)
    return Worker(**options)
