"""The click buffer with its write-ahead log, against a stand-in Redis the test holds: requests are answered
once their line is written, before Redis replies; a segment Redis took whole is removed; one it refused goes
to the spool's replayer, and a dead process's segment is replayed while a live one's is not."""

# ruff: noqa: ASYNC240  (the test reads its own small tmp folder)
from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis

from loupe.clicks.buffer import ClickBuffer
from loupe.clicks.events import CLICK, RawClick, decode_batch, new_click_id, now_us
from loupe.clicks.spool import Spool
from loupe.clicks.wal import WriteAhead

pytestmark = pytest.mark.asyncio


class StandIn:
    """Answers each XADD once `release` is set (all of them with an error while `refuse` is set)."""

    def __init__(self) -> None:
        self.xadds: list[bytes] = []
        self.release = asyncio.Event()
        self.refuse = False

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            args = []
            for _ in range(int(line[1:])):
                size = int((await reader.readline())[1:])
                args.append((await reader.readexactly(size + 2))[:-2])
            if args[0].upper() == b"XADD":
                await self.release.wait()
                self.xadds.append(args[4])
                writer.write(b"-ERR refused\r\n" if self.refuse else b"$15\r\n1700000000000-0\r\n")
            else:
                writer.write(b"+OK\r\n")
            await writer.drain()


@asynccontextmanager
async def _buffer(tmp_path: Path, stand_in: StandIn, **wal: float) -> AsyncIterator[tuple[ClickBuffer, Spool]]:
    server = await asyncio.start_server(stand_in.serve, "127.0.0.1", 0)
    redis = Redis.from_url(f"redis://127.0.0.1:{server.sockets[0].getsockname()[1]}/0")
    spool = Spool(tmp_path)
    buffer = ClickBuffer(redis, "s", spool, timeout=5.0, wal=WriteAhead(spool, **wal))
    try:
        yield buffer, spool
    finally:
        stand_in.release.set()
        await buffer.close()
        spool.close()
        await redis.aclose()
        server.close()


def _click() -> RawClick:
    return RawClick(new_click_id(), now_us(), CLICK, "c", None, None, "192.0.2.1", "UA", "", False)


def _ids(payloads: list[bytes]) -> set[str]:
    return {c.id for payload in payloads for c in decode_batch(payload)}


async def test_answered_before_redis_replies_and_a_segment_redis_took_is_removed(tmp_path: Path) -> None:
    stand_in = StandIn()
    async with _buffer(tmp_path, stand_in, roll_seconds=0.05) as (buffer, spool):
        first = [_click() for _ in range(30)]
        await asyncio.wait_for(asyncio.gather(*(buffer.record(c) for c in first)), 5)  # Redis has not replied
        assert stand_in.xadds == []
        (segment,) = tmp_path.glob("*.wal")
        assert _ids(segment.read_bytes().splitlines()) == {c.id for c in first}
        assert not spool.pending()  # our own live segment is no orphan
        stand_in.release.set()
        await asyncio.sleep(0.1)
        later = [_click() for _ in range(5)]
        await asyncio.gather(*(buffer.record(c) for c in later))  # rolls the first segment, now settled
        for _ in range(100):
            if not segment.exists():
                break
            await asyncio.sleep(0.01)
        assert not segment.exists()
    assert list(tmp_path.iterdir()) == []  # closing removed the last one too
    assert _ids(stand_in.xadds) == {c.id for c in first + later}
    assert buffer.spooled == 0


async def test_what_redis_refuses_goes_to_the_replayer_from_the_log(tmp_path: Path) -> None:
    stand_in = StandIn()
    stand_in.refuse = True
    stand_in.release.set()
    async with _buffer(tmp_path, stand_in, roll_seconds=0.1) as (buffer, spool):
        refused = [_click() for _ in range(10)]
        await asyncio.gather(*(buffer.record(c) for c in refused))
        for _ in range(200):
            if any(tmp_path.glob("*.ready")):
                break
            await asyncio.sleep(0.01)
        assert buffer.spooled >= 1 and not buffer.redis_healthy
        replayed: list[bytes] = []

        async def handler(line: bytes) -> None:
            replayed.append(line)

        assert await spool.replay(handler) >= 1
        assert _ids(replayed) == {c.id for c in refused}
        assert not any(tmp_path.glob("*.ready"))


async def test_while_redis_is_down_requests_are_answered_from_the_log_and_its_segment_goes_to_the_replayer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = StandIn()
    stand_in.refuse = True
    stand_in.release.set()
    async with _buffer(tmp_path, stand_in, roll_seconds=0.3) as (buffer, spool):
        refused = [_click() for _ in range(3)]
        await asyncio.gather(*(buffer.record(c) for c in refused))  # answered, then Redis refuses them
        for _ in range(200):
            if not buffer.redis_healthy:
                break
            await asyncio.sleep(0.01)
        assert not buffer.redis_healthy  # the breaker is open
        stand_in.release.clear()  # an XADD would now hang, and so would the spool's fsync'd append

        async def hangs(payload: bytes) -> None:
            await asyncio.Event().wait()

        monkeypatch.setattr(spool, "append", hangs)
        later = []
        for _ in range(20):  # twenty turns of the loop, each answered without Redis or an fsync
            turn = [_click() for _ in range(5)]
            await asyncio.wait_for(asyncio.gather(*(buffer.record(c) for c in turn)), 1)
            later += turn
        assert len(stand_in.xadds) <= 1
        for _ in range(300):  # handed over once the segment rolls, with no write after it
            if not any(tmp_path.glob("*.wal")):
                break
            await asyncio.sleep(0.01)
        assert not any(tmp_path.glob("*.wal"))
        assert len(list(tmp_path.glob("*.ready"))) <= 2  # one segment for all those turns, not a file each
        replayed: list[bytes] = []

        async def handler(line: bytes) -> None:
            replayed.append(line)

        await spool.replay(handler)
        assert _ids(replayed) == {c.id for c in refused + later}


async def test_a_dead_processs_segment_is_replayed_and_a_live_one_is_not(tmp_path: Path) -> None:
    line = b'[["' + new_click_id().encode() + b'",1,"c","c",null,null,"192.0.2.1","UA","",0]]'
    (tmp_path / "1-dead0000.wal").write_bytes(line + b"\n")  # no lock: its writer is gone
    held = os.open(tmp_path / "2-live0000.wal", os.O_WRONLY | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        spool = Spool(tmp_path)
        replayed: list[bytes] = []

        async def handler(payload: bytes) -> None:
            replayed.append(payload)

        assert spool.pending()
        assert await spool.replay(handler) == 1
        assert replayed == [line]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["2-live0000.wal"]
    finally:
        os.close(held)


async def test_a_short_write_waits_for_redis_and_the_next_lines_go_to_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import loupe.clicks.wal as wal_module

    real_write, torn = os.write, []

    def full_disk_once(fd: int, data: bytes) -> int:
        if not torn:
            torn.append(data)
            return real_write(fd, data[: len(data) // 2])
        return real_write(fd, data)

    monkeypatch.setattr(wal_module.os, "write", full_disk_once)
    stand_in = StandIn()
    stand_in.release.set()
    async with _buffer(tmp_path, stand_in) as (buffer, spool):
        first = [_click() for _ in range(3)]
        await asyncio.gather(*(buffer.record(c) for c in first))  # answered once Redis took them
        assert _ids(stand_in.xadds) == {c.id for c in first}
        second = [_click() for _ in range(3)]
        await asyncio.gather(*(buffer.record(c) for c in second))
        for _ in range(500):  # the torn file was ended: it is fsync'd and renamed off the event loop
            if len(wals := list(tmp_path.glob("*.wal"))) == 1:
                break
            await asyncio.sleep(0.01)
        (fresh,) = wals
        assert _ids(fresh.read_bytes().splitlines()) == {c.id for c in second}
    replayed: list[bytes] = []

    async def handler(line: bytes) -> None:
        replayed.append(line)

    await spool.replay(handler)  # the torn file: its half line skipped, nothing else in it
    assert replayed == [] and list(tmp_path.iterdir()) == []
    assert _ids(stand_in.xadds) == {c.id for c in first + second}
