"""The worker process: arq with JSON payloads, shared clients built once, jobs idempotent."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Any

import structlog
from arq import Retry, Worker, cron, func
from arq.constants import health_check_key_suffix
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.jobs import schedule_refreshes
from loupe.accounts.refresh import JOB_MAX_TRIES, refresh_connection
from loupe.accounts.reminders import remind_expiring
from loupe.accounts.stories import POLL_MINUTES, poll_stories
from loupe.clicks.bots import warm_crawler_lists
from loupe.clicks.jobs import flush_clicks, fold_click_rollups, maintain_clicks
from loupe.config import Settings, get_settings
from loupe.connections.jobs import purge_connect_attempts
from loupe.kit.context import ProcessContext
from loupe.kit.jobs import QUEUE_NAME, JobBuffer, create_job_pool, deserialize, redis_settings, send_staged, serialize
from loupe.kit.media import sweep_media
from loupe.kit.migrations import SCHEMA_BEHIND, SchemaBehind, schema_is_current
from loupe.kit.outages import Dependency, outage_of, wait_until_up
from loupe.kit.outbox import deliver_outbox
from loupe.runtime import normalize_database_url
from loupe.team.jobs import finish_signup, purge_dead_credentials_job, record_failed_sign_in, send_password_reset
from loupe.trackings.matching import rematch_tracking
from loupe.workspaces.jobs import erase_deleted_workspaces

log = structlog.get_logger("loupe.worker")

HEALTH_CHECK_INTERVAL = 10  # seconds; `loupe worker --check` reads the key arq refreshes
DOWN = "down="  # how the health key says which dependency the worker cannot reach


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


async def send_staged_jobs(ctx: dict[str, Any]) -> int:
    """Worker cron: enqueue the jobs a request committed but could not hand to Redis (kit.jobs)."""
    process: ProcessContext = ctx["process"]
    return await send_staged(process.engine, process.arq)


FUNCTIONS: list[Any] = [
    heartbeat,
    send_staged_jobs,
    flush_clicks,
    maintain_clicks,
    fold_click_rollups,
    sweep_media,
    deliver_outbox,
    purge_connect_attempts,
    purge_dead_credentials_job,
    record_failed_sign_in,
    erase_deleted_workspaces,
    schedule_refreshes,
    remind_expiring,
    poll_stories,
    send_password_reset,
    # Its arguments hold a password hash: no result kept in Redis.
    func(finish_signup, keep_result=0),  # type: ignore[arg-type,list-item]
    func(refresh_connection, keep_result=0, max_tries=JOB_MAX_TRIES),  # type: ignore[arg-type,list-item]
    func(rematch_tracking, keep_result=0, max_tries=3, timeout=1800),  # type: ignore[arg-type,list-item]
]
CRON_JOBS: list[Any] = [
    # Clicks reach PostgreSQL within seconds of the redirect; keep no results of these runs.
    cron(flush_clicks, second=set(range(0, 60, 2)), run_at_startup=True, keep_result=0, timeout=60),  # type: ignore[arg-type]
    # Jobs committed while Redis refused them are queued within seconds of its return.
    cron(send_staged_jobs, second=set(range(3, 60, 5)), run_at_startup=True, keep_result=0, timeout=60),  # type: ignore[arg-type]
    cron(maintain_clicks, hour=3, minute=17, second=0, run_at_startup=True, keep_result=0),  # type: ignore[arg-type]
    cron(fold_click_rollups, minute=2, second=30, run_at_startup=True, keep_result=0, unique=True, timeout=600),  # type: ignore[arg-type]
    # Files of deleted stories go within a minute of the delete.
    cron(sweep_media, second=30, run_at_startup=True, keep_result=0, timeout=120),  # type: ignore[arg-type]
    # Outbox emails go within seconds (and at once: each commit that adds some enqueues a run too).
    cron(deliver_outbox, second=set(range(0, 60, 5)), run_at_startup=True, keep_result=0, timeout=120),  # type: ignore[arg-type]
    cron(purge_connect_attempts, minute=41, second=0, keep_result=0),  # type: ignore[arg-type]
    cron(purge_dead_credentials_job, minute=43, second=0, keep_result=0),  # type: ignore[arg-type]
    # Deleted workspaces are erased within ten minutes of their grace period's end.
    cron(erase_deleted_workspaces, minute=set(range(3, 60, 10)), second=0, keep_result=0, timeout=3600, unique=True),  # type: ignore[arg-type]
    # Each connected account is refreshed once a day in its own slot; this finds the ones due.
    cron(schedule_refreshes, second=0, run_at_startup=True, keep_result=0, unique=True),  # type: ignore[arg-type]
    # Creators hear 7 days and 1 day before an authorisation lapses; lapsed ones become `expired`.
    cron(remind_expiring, minute=7, second=0, run_at_startup=True, keep_result=0, unique=True),  # type: ignore[arg-type]
    # Live Instagram stories (24 h) every 20 minutes: media copied, metrics read until they expire.
    cron(poll_stories, minute=POLL_MINUTES, second=10, run_at_startup=True, keep_result=0, unique=True, timeout=1140),  # type: ignore[arg-type]
]


async def database_answers(process: ProcessContext) -> None:
    async with process.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _until_up(
    dependency: Dependency, attempt: Callable[[], Awaitable[Any]], probe: Callable[[], Awaitable[Any]]
) -> Any:
    """`attempt()`, waiting out outages of `dependency` (anything else is raised)."""
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if outage_of(exc) != dependency:
                raise
            await wait_until_up(dependency, probe, error=exc)


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or get_settings()
    database_url = ctx.get("database_url") or _configured(settings.database_url, "LOUPE_DATABASE_URL")
    redis_url = ctx.get("redis_url") or _configured(settings.redis_url, "LOUPE_REDIS_URL")
    process = await ProcessContext.create(settings, normalize_database_url(database_url), redis_url)
    # A PostgreSQL that is down (or still starting) is waited for; only a schema behind the code stops us.
    current = await _until_up("database", lambda: schema_is_current(process.engine), lambda: database_answers(process))
    if not current:
        await process.close()
        raise SchemaBehind(SCHEMA_BEHIND)
    ctx["process"] = process
    warm_crawler_lists()  # now, not in the first flush
    # What exists now (modules, settings, pools) lives as long as the process: out of every collection, so
    # a full one walks only what jobs made (without it, each took ~130 ms of CPU, stalling the flush).
    gc.freeze()
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


def retry_delay(job_try: int) -> float:
    """Seconds before a job that met an outage runs again: 1, 2, 4… up to 30, with jitter."""
    ceiling = min(30.0, 2.0 ** max(0, job_try - 1))
    return random.uniform(ceiling / 2, ceiling)


class LoupeWorker(Worker):
    """arq's worker, riding out outages instead of exiting on them.

    Redis lost in the poll loop: logged once, probed with capped backoff and jitter, then the loop goes
    on. PostgreSQL lost in a job: the job is retried later (arq's at-least-once; jobs are idempotent),
    and no new job is picked until PostgreSQL answers again, so an outage costs each job one try at most.
    While a dependency is down the health key says so, and `loupe worker --check` reports unhealthy."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.down: Dependency | None = None
        self._recovery: asyncio.Task[None] | None = None
        self.functions = {
            name: dataclasses.replace(f, coroutine=self._guard(f.coroutine)) for name, f in self.functions.items()
        }

    def _guard(self, coroutine: Any) -> Any:
        async def guarded(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await coroutine(ctx, *args, **kwargs)
            except Exception as exc:
                dependency = outage_of(exc)
                if dependency is None:
                    raise
                if dependency == "database":
                    self._database_lost(exc)
                raise Retry(defer=retry_delay(ctx.get("job_try") or 1)) from exc

        return guarded

    def _database_lost(self, exc: BaseException) -> None:
        if self._recovery is not None:
            return  # logged and being probed already
        self.down, self.allow_pick_jobs = "database", False
        self._last_health_check = 0  # publish it at the next poll
        process: ProcessContext = self.ctx["process"]
        self._recovery = asyncio.create_task(self._recover(process, exc))

    async def _recover(self, process: ProcessContext, exc: BaseException) -> None:
        await wait_until_up("database", lambda: database_answers(process), error=exc)
        self.down, self.allow_pick_jobs, self._recovery = None, True, None
        self._last_health_check = 0

    async def main(self) -> None:
        if self._pool is None and self.ctx.get("redis_url"):  # Redis down at start: wait for it, don't exit
            pool = await create_job_pool(self.ctx["redis_url"])
            await _until_up("redis", pool.ping, pool.ping)
            self._pool = pool
        await super().main()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except Exception as exc:
            if outage_of(exc) != "redis":
                raise
            self.down = "redis"
            await wait_until_up("redis", self.pool.ping, error=exc)
            # The other pooled connections are to the server that went away: drop them all now, rather
            # than let each fail (and be reported) once on its next use.
            await self.pool.connection_pool.disconnect()
            self.down = None if self._recovery is None else "database"
            self._last_health_check = 0  # say we are back at once, the old key has expired

    async def close(self) -> None:
        # On SIGTERM arq cancels the running jobs, then gathers them without return_exceptions: a job whose
        # cancellation landed outside its own try (arq's shielded finish_job) ended the process on a
        # CancelledError traceback (seen with a backlog of click flushes). A cancelled job runs again later.
        if self._handle_signals:
            await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            self.tasks.clear()
        await super().close()

    async def record_health(self) -> None:
        if time.time() - self._last_health_check < self.health_check_interval:
            return
        if self.down is None and "process" in self.ctx:
            try:  # an idle worker notices a PostgreSQL outage too
                await asyncio.wait_for(database_answers(self.ctx["process"]), timeout=2)
            except Exception as exc:
                if outage_of(exc) is None:
                    raise
                self._database_lost(exc)
        if self.down is None:
            await super().record_health()
            return
        self._last_health_check = time.time()
        ttl_ms = int((self.health_check_interval + 1) * 1000)
        await self.pool.psetex(self.health_check_key, ttl_ms, f"{DOWN}{self.down}".encode())  # type: ignore[no-untyped-call]


async def check_health(redis_url: str) -> tuple[bool, str]:
    """What `loupe worker --check` says: healthy only if a worker recorded health within the last
    interval and reached every dependency when it did."""
    redis = await create_job_pool(redis_url)
    try:
        value = await redis.get(QUEUE_NAME + health_check_key_suffix)
    except Exception as exc:
        if outage_of(exc) != "redis":
            raise
        return False, f"unhealthy: Redis is unreachable ({type(exc).__name__})"
    finally:
        await redis.aclose()
    if value is None:
        return False, f"unhealthy: no worker recorded its health in the last {HEALTH_CHECK_INTERVAL + 1} s"
    info = value.decode()
    if info.startswith(DOWN):
        return False, f"unhealthy: the worker cannot reach {info.removeprefix(DOWN)}"
    return True, f"healthy: {info}"


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
    return LoupeWorker(**options)
