"""Group commit into the durable buffer (a Redis stream).

Requests queue their click and wait; at the end of the event loop's turn everything queued so far goes
out as a single XADD (one stream entry carrying many clicks), and its requests are answered once Redis
acknowledged it. While writes are in flight (at most `max_inflight`, so a request waits about one round
trip, not two), the next batch accumulates: a busy process makes few round trips.

The XADDs travel on one connection of our own (`_Pipe`), back to back: Redis answers them in order, and
the acknowledgement answers the batch's requests from the protocol callback itself, with no task, timer
task or pooled connection per batch (each of those cost a turn of the loop, and a turn of a busy loop is
long). Until that connection is up (and for a Redis URL it cannot serve: TLS, a credential provider),
batches go through the redis-py client as before.

With a write-ahead log (clicks/wal.py), each turn's clicks are first one line of a local file and their
requests are answered right then; the lines go on to Redis as above (several joined into one XADD when
slots were busy), and one Redis does not take leaves its segment to the spool's replayer, as do all
lines while the breaker below is open. Without one (or
when it cannot be written), requests wait for the acknowledgement.

When Redis fails, answers an error or exceeds its time bound, the batch goes to the local spool instead
(fsync'd), and a short circuit breaker sends the next batches straight there so requests do not each
wait for a timeout. A request never waits longer than `deadline` in all (a disk that hangs too must not
hold visitors): one timer per batch, measured from its oldest request, keeps that bound without a timer
per request on the hot path.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection

from loupe.clicks.events import RawClick, encode_batch
from loupe.clicks.metrics import BUFFERED_REDIS, BUFFERED_SPOOL
from loupe.clicks.spool import Spool
from loupe.clicks.wal import Segment, WriteAhead

log = structlog.get_logger("loupe.clicks.buffer")

_REDIS, _CLIENT, _SPOOL, _DONE = range(4)  # where a batch is: on the pipe, via redis-py, to the spool, settled


def _arguments(*args: bytes) -> bytes:
    return b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _command(*args: bytes) -> bytes:
    return b"*%d\r\n%s" % (len(args), _arguments(*args))


@dataclass(frozen=True, slots=True)
class _Target:
    """Where the pipe connects, from the redis-py client's own settings."""

    host: str  # "" for a unix socket
    port: int
    path: str | None
    handshake: tuple[bytes, ...]  # AUTH / SELECT, each answered in order before the first XADD's reply

    @classmethod
    def of(cls, redis: Redis) -> _Target | None:
        pool = getattr(redis, "connection_pool", None)
        kwargs: dict[str, Any] = getattr(pool, "connection_kwargs", None) or {}
        kind = getattr(pool, "connection_class", None)
        if kind not in (Connection, UnixDomainSocketConnection) or kwargs.get("credential_provider"):
            return None  # TLS or custom: redis-py carries the batches
        handshake = []
        password, username = kwargs.get("password"), kwargs.get("username")
        if password:
            args = [username, password] if username else [password]
            handshake.append(_command(b"AUTH", *(str(a).encode() for a in args)))
        if int(kwargs.get("db") or 0):
            handshake.append(_command(b"SELECT", str(int(kwargs["db"])).encode()))
        if kind is UnixDomainSocketConnection:
            return cls("", 0, str(kwargs["path"]), tuple(handshake))
        return cls(str(kwargs.get("host", "localhost")), int(kwargs.get("port", 6379)), None, tuple(handshake))


class _Batch:
    __slots__ = ("count", "lines", "oldest", "payload", "released", "stage", "timer", "waiters")

    def __init__(
        self, payload: bytes, waiters: list[asyncio.Future[None]], oldest: float, lines: list[Segment] | None = None
    ) -> None:
        self.payload = payload
        self.waiters = waiters
        self.oldest = oldest
        self.lines = lines  # written ahead: the segment of each of its lines (the waiters were answered)
        self.count = len(waiters)  # clicks, for the metrics
        self.stage = _REDIS
        self.timer: asyncio.TimerHandle | None = None
        self.released = False  # its in-flight slot given back (acknowledged, or past the deadline)


class _Pipe(asyncio.Protocol):
    """One Redis connection: commands written back to back, replies matched to them in order."""

    def __init__(self, buffer: ClickBuffer) -> None:
        self.buffer = buffer
        self.transport: asyncio.Transport | None = None
        self.sent: collections.deque[_Batch | None] = collections.deque()  # None: a handshake command
        self.closed = False
        self._data = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def write(self, command: bytes, batch: _Batch | None) -> None:
        self.sent.append(batch)
        self.transport.write(command)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        buf = self._data
        buf += data
        pos, size = 0, len(buf)
        while pos < size:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                break
            kind = buf[pos]
            if kind == 0x24:  # $: a bulk string, the entry id XADD answers
                length = int(buf[pos + 1 : line_end])
                end = line_end + 2 if length < 0 else line_end + length + 4
                if end > size:
                    break
                ok = True
            elif kind in (0x2B, 0x3A):  # + or :, the handshake's OK
                ok, end = True, line_end + 2
            elif kind == 0x2D:  # -: an error
                ok, end = False, line_end + 2
                log.warning("click_buffer_redis_error", error=bytes(buf[pos + 1 : line_end])[:200].decode("latin-1"))
            else:
                self.buffer._pipe_failed(self, "protocol")
                return
            pos = end
            if not self.sent:
                self.buffer._pipe_failed(self, "protocol")
                return
            batch = self.sent.popleft()
            if batch is not None:
                self.buffer._acknowledged(batch, ok)
            elif not ok:
                self.buffer._pipe_failed(self, "handshake")
                return
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        self.buffer._pipe_failed(self, type(exc).__name__ if exc else "closed")

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


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
        wal: WriteAhead | None = None,
        max_ahead: int = 50_000,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.spool = spool
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else 4 * timeout + 1
        self.max_batch = max_batch
        self.max_inflight = max_inflight
        self.breaker_seconds = breaker_seconds
        self.wal = wal
        self.max_ahead = max_ahead  # clicks written ahead and not yet sent: beyond, requests wait for Redis
        self._items: list[list[Any]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._ahead: collections.deque[tuple[bytes, int, Segment]] = collections.deque()  # (payload, clicks, segment)
        self._ahead_clicks = 0
        self._oldest = 0.0  # when the first queued click was queued
        self._scheduled = False
        self._inflight = 0  # batches holding a slot
        self._unsettled = 0  # batches whose write has not ended (past their deadline included)
        self._writes: set[asyncio.Task[None]] = set()
        self._target = _Target.of(redis)
        self._pipe: _Pipe | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._xadd = b"*5\r\n" + _arguments(b"XADD", stream.encode(), b"*", b"b")  # the payload follows
        self._quiet: asyncio.Event | None = None  # set once nothing is in flight, while closing
        self._redis_down_until = 0.0
        self._failing_since: float | None = None  # the first failure since Redis last answered
        self.spooled = 0

    @property
    def redis_healthy(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    @property
    def redis_failing_for(self) -> float:
        """Seconds since Redis last answered, if it has failed since (else 0): a blip, or an outage."""
        return 0.0 if self._failing_since is None else time.monotonic() - self._failing_since

    def _redis_failed(self) -> None:
        now = time.monotonic()
        self._redis_down_until = now + self.breaker_seconds
        if self._failing_since is None:
            self._failing_since = now

    async def record(self, click: RawClick) -> None:
        """Returns once the click is durable: written ahead (clicks/wal.py), acknowledged by Redis, or
        fsync'd to the spool. Raises TimeoutError when that took longer than `deadline` (the write goes on
        and may land)."""
        await self.record_item(click.wire())

    async def record_item(self, item: list[Any]) -> None:
        """`record` for a click already in its wire form (`RawClick.wire`): the redirect's hot path."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._items:
            self._oldest = time.monotonic()
        self._items.append(item)
        self._waiters.append(future)
        if not self._scheduled and (self._inflight < self.max_inflight or self.wal is not None):
            self._scheduled = True
            loop.call_soon(self._flush)  # once this turn of the loop queued what it had
        # A visitor who goes away cancels only their own future; the batch's write goes on.
        await future

    def _flush(self) -> None:
        self._scheduled = False
        wal = self.wal
        if self._items and wal is not None and self._ahead_clicks < self.max_ahead:
            self._write_ahead(wal)
        if wal is not None and self._ahead and not self.redis_healthy:
            self._spill_ahead(wal)
        while self._ahead and self._inflight < self.max_inflight:
            self._start(self._take_ahead())
        while self._items and self._inflight < self.max_inflight:
            if len(self._items) <= self.max_batch:
                items, waiters, self._items, self._waiters = self._items, self._waiters, [], []
            else:
                items, self._items = self._items[: self.max_batch], self._items[self.max_batch :]
                waiters, self._waiters = self._waiters[: self.max_batch], self._waiters[self.max_batch :]
            self._start(_Batch(encode_batch(items), waiters, self._oldest))

    def _write_ahead(self, wal: WriteAhead) -> None:
        """This turn's clicks as one line of the write-ahead log; its requests are answered at once."""
        payload = encode_batch(self._items)
        try:
            segment = wal.write(payload)
        except OSError as exc:  # a full or failing disk: these requests wait for Redis instead
            log.warning("click_wal_write_failed", error=type(exc).__name__)
            return
        count, waiters = len(self._items), self._waiters
        self._items, self._waiters = [], []
        self._ahead.append((payload, count, segment))
        self._ahead_clicks += count
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _spill_ahead(self, wal: WriteAhead) -> None:
        """The breaker is open: lines written ahead go to the replayer as they are, with no XADD to wait for
        and no fsync on a request's path (their segment is fsync'd off the loop when it rolls)."""
        while self._ahead:
            _, count, segment = self._ahead.popleft()
            self._ahead_clicks -= count
            self.spooled += 1
            BUFFERED_SPOOL.inc(count)
            wal.settled(segment, False)
        self._quiet_if_done()

    def _take_ahead(self) -> _Batch:
        """Lines written ahead, as one XADD of at most `max_batch` clicks (JSON arrays joined as one)."""
        payloads: list[bytes] = []
        lines: list[Segment] = []
        count = 0
        while self._ahead and (not payloads or count + self._ahead[0][1] <= self.max_batch):
            payload, clicks, segment = self._ahead.popleft()
            payloads.append(payload)
            lines.append(segment)
            count += clicks
        self._ahead_clicks -= count
        merged = payloads[0] if len(payloads) == 1 else b"[" + b",".join(p[1:-1] for p in payloads) + b"]"
        batch = _Batch(merged, [], time.monotonic(), lines)
        batch.count = count  # its requests were answered: the waiters are none, the clicks these
        return batch

    def _start(self, batch: _Batch) -> None:
        self._inflight += 1
        self._unsettled += 1
        loop = asyncio.get_running_loop()
        pipe = self._pipe
        if pipe is not None and self.redis_healthy:
            payload = batch.payload
            pipe.write(b"%s$%d\r\n%s\r\n" % (self._xadd, len(payload), payload), batch)
            batch.timer = loop.call_at(
                min(loop.time() + self.timeout, self._deadline_of(batch, loop)), self._expired, batch
            )
            return
        if pipe is None and self._target is not None and self._connecting is None and self.redis_healthy:
            self._connecting = asyncio.create_task(self._connect(self._target), name="click-buffer-connect")
        batch.stage = _CLIENT
        batch.timer = loop.call_at(self._deadline_of(batch, loop), self._expired, batch)
        self._spawn(self._write_with_client(batch))

    def _deadline_of(self, batch: _Batch, loop: asyncio.AbstractEventLoop) -> float:
        return loop.time() + batch.oldest + self.deadline - time.monotonic()

    def _spawn(self, coro: Any) -> None:
        write = asyncio.create_task(coro)
        self._writes.add(write)  # a write past the deadline still runs to its end
        write.add_done_callback(self._writes.discard)

    def _acknowledged(self, batch: _Batch, ok: bool) -> None:
        if batch.stage != _REDIS:
            return
        if ok:
            self._failing_since = None
            BUFFERED_REDIS.inc(batch.count)
            self._settle(batch, None)
        else:  # Redis refused it (out of memory, read-only replica…): the spool takes it
            self._redis_failed()
            self._to_spool(batch)

    def _pipe_failed(self, pipe: _Pipe, reason: str) -> None:
        """The connection broke, timed out or spoke nonsense: what it carried goes to the spool."""
        if pipe is not self._pipe:
            return
        self._pipe = None
        pipe.close()
        self._redis_failed()
        log.warning("click_buffer_redis_failed", error=reason)
        for batch in pipe.sent:
            if batch is not None and batch.stage == _REDIS:
                self._to_spool(batch)
        pipe.sent.clear()

    def _expired(self, batch: _Batch) -> None:
        if batch.stage == _REDIS:  # no acknowledgement within the timeout
            if self._pipe is not None:
                self._pipe_failed(self._pipe, "TimeoutError")
            if batch.stage == _REDIS:
                self._to_spool(batch)
            return
        # Past the deadline: the visitors are answered, but the write itself goes on.
        for future in batch.waiters:
            if not future.done():
                future.set_exception(TimeoutError())
        self._release(batch)

    def _to_spool(self, batch: _Batch) -> None:
        if batch.lines is not None:  # on disk already: its segment goes to the replayer
            self.spooled += 1
            BUFFERED_SPOOL.inc(batch.count)
            self._settle(batch, None, ok=False)
            return
        batch.stage = _SPOOL
        if batch.timer is not None:
            batch.timer.cancel()
        loop = asyncio.get_running_loop()
        batch.timer = loop.call_at(self._deadline_of(batch, loop), self._expired, batch)
        self._spawn(self._write_spool(batch))

    async def _write_with_client(self, batch: _Batch) -> None:
        try:
            if await self.push(batch.payload):
                BUFFERED_REDIS.inc(batch.count)
                self._settle(batch, None)
                return
        except BaseException as exc:
            self._settle(batch, exc, ok=False)
            raise
        if batch.stage != _DONE:
            self._to_spool(batch)

    async def _write_spool(self, batch: _Batch) -> None:
        try:
            self.spooled += 1
            await self.spool.append(batch.payload)
            BUFFERED_SPOOL.inc(len(batch.waiters))
        except BaseException as exc:
            self._settle(batch, exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._settle(batch, None)

    def _settle(self, batch: _Batch, exc: BaseException | None, ok: bool = True) -> None:
        if batch.stage == _DONE:
            return
        batch.stage = _DONE
        self._unsettled -= 1
        if batch.timer is not None:
            batch.timer.cancel()
        if batch.lines is not None and self.wal is not None:
            for segment in batch.lines:
                self.wal.settled(segment, ok and exc is None)
        if exc is None:
            for future in batch.waiters:
                if not future.done():
                    future.set_result(None)
        else:
            error = exc if isinstance(exc, Exception) else RuntimeError("cancelled")
            for future in batch.waiters:
                if not future.done():
                    future.set_exception(error)
        self._release(batch)
        self._quiet_if_done()

    def _quiet_if_done(self) -> None:
        if self._quiet is not None and not self._unsettled and not self._items and not self._ahead:
            self._quiet.set()

    def _release(self, batch: _Batch) -> None:
        if batch.released:
            return
        batch.released = True
        self._inflight -= 1
        if (self._items or self._ahead) and not self._scheduled:
            self._flush()  # the clicks queued while it was in flight go now, from this very callback

    async def _connect(self, target: _Target) -> None:
        loop = asyncio.get_running_loop()
        pipe = _Pipe(self)
        try:
            async with asyncio.timeout(self.timeout):
                if target.path is not None:
                    await loop.create_unix_connection(lambda: pipe, target.path)
                else:
                    await loop.create_connection(lambda: pipe, target.host, target.port)
            for command in target.handshake:
                pipe.write(command, None)
            if not pipe.closed and pipe.transport is not None and not pipe.transport.is_closing():
                self._pipe = pipe
        except Exception as exc:  # the client path finds out too, and spools
            pipe.close()
            log.warning("click_buffer_connect_failed", error=type(exc).__name__)
        finally:
            self._connecting = None

    async def push(self, payload: bytes) -> bool:
        """One bounded XADD of a batch through redis-py; False if Redis failed, timed out, or the breaker is open."""
        if not self.redis_healthy:
            return False
        try:
            async with asyncio.timeout(self.timeout):
                await self.redis.xadd(self.stream, {"b": payload})
            self._failing_since = None
            return True
        except Exception as exc:  # a timeout or any Redis error: the caller falls back, never loses the click
            self._redis_failed()
            log.warning("click_buffer_redis_failed", error=type(exc).__name__)
            return False

    async def close(self) -> None:
        """Waits (bounded) for the writes in flight, then closes the pipe."""
        ends = time.monotonic() + self.timeout * 4
        if self._unsettled or self._items or self._ahead:
            self._quiet = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), max(ends - time.monotonic(), 0.001))
        if self._writes:
            await asyncio.wait([*self._writes], timeout=max(ends - time.monotonic(), 0.001))
        if self._connecting is not None:
            self._connecting.cancel()
        if self._pipe is not None:
            pipe, self._pipe = self._pipe, None
            pipe.close()
        if self.wal is not None:
            await self.wal.close()
