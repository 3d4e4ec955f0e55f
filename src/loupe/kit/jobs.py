"""Background jobs on arq: JSON payloads, enqueued by name only after the request's commit.

A job the change needs (not a mere nudge) is also written as a `staged_jobs` row in the change's own
transaction, so a Redis that goes away between the commit and the enqueue loses nothing: the row is
deleted once arq has the job, and the worker's `send_staged_jobs` cron enqueues whatever was left behind
(jobs carry ids, so arq does not queue one twice).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import structlog
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError
from sqlalchemy import Float, Text, delete, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base, IdMixin
from loupe.kit.metrics import JOBS_ENQUEUED

log = structlog.get_logger(__name__)


def serialize(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)


def deserialize(data: bytes) -> dict[str, Any]:
    return orjson.loads(data)  # type: ignore[no-any-return]


QUEUE_NAME = "loupe:queue"


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 3
    return settings


async def create_job_pool(url: str) -> ArqRedis:
    """The queue's client. It connects on first use (not here), so a process starts while Redis is down
    and its calls succeed again once Redis is back; every call is time-bounded, never hung on a dead peer."""
    pool = ConnectionPool.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15)
    return ArqRedis(pool, job_serializer=serialize, job_deserializer=deserialize, default_queue_name=QUEUE_NAME)


class StagedJob(IdMixin, Base):
    """A job committed with the change that needs it, until arq has it."""

    __tablename__ = "staged_jobs"

    function: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(Text)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    defer_by: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


STAGED_GRACE_SECONDS = 10  # younger rows are still being enqueued by the request that wrote them


@dataclass
class PendingJob:
    function: str
    kwargs: dict[str, Any]
    job_id: str | None = None
    defer_by: float | None = None
    nudge: bool = False  # only hastens work a periodic job does anyway: may be dropped while Redis is down
    staged: uuid.UUID | None = None  # its `staged_jobs` row, once written


@dataclass
class JobBuffer:
    """Jobs a request or job wants to run; sent only once its transaction committed.

    Services call `enqueue`; whoever owns the transaction calls `flush` after the commit,
    so a job never sees data that was rolled back, and the API never imports worker code.
    """

    pending: list[PendingJob] = field(default_factory=list)

    def enqueue(
        self,
        function: str,
        *,
        job_id: str | None = None,
        defer_by: float | None = None,
        nudge: bool = False,
        **kwargs: Any,
    ) -> None:
        self.pending.append(PendingJob(function, kwargs, job_id, defer_by, nudge))

    async def stage(self, session: AsyncSession) -> None:
        """Write the jobs the change needs in its transaction (call just before the commit)."""
        needed = [job for job in self.pending if not job.nudge and job.staged is None]
        for job in needed:
            job.staged = uuid.uuid4()
            session.add(
                StagedJob(
                    id=job.staged, function=job.function, job_id=job.job_id, kwargs=job.kwargs, defer_by=job.defer_by
                )
            )
        if needed:
            await session.flush()

    async def flush(self, pool: ArqRedis, engine: AsyncEngine | None = None) -> None:
        """Enqueue after the commit. A staged job arq has is crossed off; one Redis refused stays staged for
        `send_staged_jobs`. An unstaged job Redis refused raises, unless it is a nudge."""
        pending, self.pending = self.pending, []
        sent: list[uuid.UUID] = []
        for job in pending:
            try:
                await pool.enqueue_job(job.function, _job_id=job.job_id, _defer_by=job.defer_by, **job.kwargs)
            except RedisError:
                if job.staged is not None:
                    log.warning("job_left_staged", function=job.function, job_id=job.job_id)
                    continue
                if not job.nudge:
                    raise
                continue  # its periodic run does the work a little later
            JOBS_ENQUEUED.labels(job.function).inc()
            if job.staged is not None:
                sent.append(job.staged)
        if sent and engine is not None:
            async with engine.begin() as conn:
                await conn.execute(delete(StagedJob).where(StagedJob.id.in_(sent)))

    def discard(self) -> None:
        self.pending.clear()


async def send_staged(engine: AsyncEngine, pool: ArqRedis, limit: int = 500) -> int:
    """Enqueue staged jobs older than the grace period (their request could not), then cross them off.
    Rows are claimed with SKIP LOCKED, so two workers never send the same row at once."""
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(StagedJob)
                .where(StagedJob.created_at < func.now() - func.make_interval(0, 0, 0, 0, 0, 0, STAGED_GRACE_SECONDS))
                .order_by(StagedJob.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            await pool.enqueue_job(row.function, _job_id=row.job_id, _defer_by=row.defer_by, **row.kwargs)
            JOBS_ENQUEUED.labels(row.function).inc()
        if rows:
            await conn.execute(delete(StagedJob).where(StagedJob.id.in_([row.id for row in rows])))
    if rows:
        log.info("staged_jobs_sent", count=len(rows))
    return len(rows)
