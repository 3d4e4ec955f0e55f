"""Group commit into the durable buffer (a Redis stream).

Requests queue their click and wait; a writer sends everything queued so far as a single XADD
(one stream entry carrying many clicks) and answers all those requests when Redis acknowledged.
While writes are in flight (at most `max_inflight`, so a request waits about one round trip, not
two), the next batch accumulates: a busy process makes few round trips.
When Redis fails or exceeds its time bound, the batch goes to the local spool instead (fsync'd),
and a short circuit breaker sends the next batches straight there so requests do not each wait
for a timeout. A request never waits longer than `deadline` in all (a disk that hangs too must not
hold visitors): one timer per batch, measured from its oldest request, keeps that bound without a
timer per request on the hot path.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog
from redis.asyncio import Redis

from loupe.clicks.events import RawClick, encode_batch
from loupe.clicks.metrics import BUFFERED_REDIS, BUFFERED_SPOOL
from loupe.clicks.spool import Spool

log = structlog.get_logger("loupe.clicks.buffer")


class ClickBuffer:
    def __init__(
        self,
        redis: Redis,
        stream: str,
        spool: Spool,
        *,
        timeout: float,
        deadline: float | None = None,
        max_batch: int = 2000,
        max_inflight: int = 2,
        breaker_seconds: float = 1.0,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.spool = spool
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else 4 * timeout + 1
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self.breaker_seconds = breaker_seconds
        self._queue: list[tuple[list[Any], asyncio.Future[None], float]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Task[None]] = set()
        self._active = 0  # writers still looping; counted in the task itself, not in a done callback
        self._redis_down_until = 0.0
        self.spooled = 0

    @property
    def redis_healthy(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    async def record(self, click: RawClick) -> None:
        """Returns once the click is durable: acknowledged by Redis, or fsync'd to the spool.
        Raises TimeoutError when that took longer than `deadline` (the write goes on and may land)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((click.wire(), future, time.monotonic()))
        if self._active < self.max_inflight:
            self._active += 1
            writer = asyncio.create_task(self._drain())
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        # A visitor who goes away cancels only their own future; the batch's write goes on.
        await future

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        finally:
            self._active -= 1

    async def _drain_queue(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            payload = encode_batch([item for item, _, _ in batch])
            write = asyncio.create_task(self._write(payload, len(batch)))
            self._writes.add(write)  # a write past the deadline still runs to its end
            write.add_done_callback(self._writes.discard)
            left = batch[0][2] + self.deadline - time.monotonic()
            try:
                # Shielded: past the deadline the visitors are answered, but the write itself goes on.
                await asyncio.wait_for(asyncio.shield(write), timeout=max(left, 0.001))
            except BaseException as exc:
                for _, future, _ in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                if not isinstance(exc, Exception):
                    raise
                continue
            for _, future, _ in batch:
                if not future.done():
                    future.set_result(None)

    async def _write(self, payload: bytes, count: int) -> None:
        if await self.push(payload):
            BUFFERED_REDIS.inc(count)
            return
        self.spooled += 1
        await self.spool.append(payload)
        BUFFERED_SPOOL.inc(count)

    async def push(self, payload: bytes) -> bool:
        """One bounded XADD of a batch; False if Redis failed, timed out, or the breaker is open."""
        if not self.redis_healthy:
            return False
        try:
            async with asyncio.timeout(self.timeout):
                await self.redis.xadd(self.stream, {"b": payload})
            return True
        except Exception as exc:  # a timeout or any Redis error: the caller falls back, never loses the click
            self._redis_down_until = time.monotonic() + self.breaker_seconds
            log.warning("click_buffer_redis_failed", error=type(exc).__name__)
            return False

    async def close(self) -> None:
        if self._writers or self._writes:
            await asyncio.wait([*self._writers, *self._writes], timeout=self.timeout * 4)
