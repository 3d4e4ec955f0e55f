"""Background jobs on arq: JSON payloads, enqueued by name only after the request's commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisError

from loupe.kit.metrics import JOBS_ENQUEUED


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


@dataclass
class PendingJob:
    function: str
    kwargs: dict[str, Any]
    job_id: str | None = None
    defer_by: float | None = None
    nudge: bool = False  # only hastens work a periodic job does anyway: may be dropped while Redis is down


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

    @property
    def required(self) -> bool:
        """Whether a job must reach Redis for the change to be complete."""
        return any(not job.nudge for job in self.pending)

    async def flush(self, pool: ArqRedis) -> None:
        pending, self.pending = self.pending, []
        for job in pending:
            try:
                await pool.enqueue_job(job.function, _job_id=job.job_id, _defer_by=job.defer_by, **job.kwargs)
            except RedisError:
                if not job.nudge:
                    raise
                continue  # its periodic run does the work a little later
            JOBS_ENQUEUED.labels(job.function).inc()

    def discard(self) -> None:
        self.pending.clear()
