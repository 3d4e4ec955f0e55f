"""The redirect's write-ahead log: a click is answered once it is in a local file, not once Redis answers.

Each turn of the event loop appends its batch of clicks as one line to the process's current segment
(`<pid>-<hex>.wal` in the spool folder, held under an exclusive flock) with one `write`: the kernel has
it then, so a process killed right after answering loses nothing. The batch goes on to Redis in the
background. A segment rolls every `roll_seconds` (or `roll_bytes`); once every line of a rolled segment
is settled it is unlinked when Redis took them all, or fsync'd and renamed `.ready` for the spool's
replayer when Redis failed any (while Redis is down, every line is one it failed: requests are still
answered from the log, and the replayer takes the lines a second later). A segment left by a dead
process (its lock died with it) is replayed whole by any replayer: the click ids make the lines Redis
had taken already harmless.

What this changes against waiting for Redis: until the XADD is acknowledged (a round trip, milliseconds)
the click is in the page cache only, which a power cut loses, as Redis (fsync every second) loses its
last second.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
import uuid
from pathlib import Path

import structlog

from loupe.clicks.spool import Spool

log = structlog.get_logger("loupe.clicks.wal")

SUFFIX = ".wal"


class Segment:
    __slots__ = ("failed", "fd", "finished", "opened", "path", "pending", "rolled", "size")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.opened = time.monotonic()
        self.size = 0
        self.pending = 0  # lines not yet settled (acknowledged by Redis, or failed)
        self.failed = False  # some line never reached Redis: the replayer must have this file
        self.rolled = False
        self.finished = False  # unlinked, or on its way to the replayer


class WriteAhead:
    def __init__(self, spool: Spool, *, roll_seconds: float = 1.0, roll_bytes: int = 16 << 20) -> None:
        self.directory = spool.directory
        self.roll_seconds = roll_seconds
        self.roll_bytes = roll_bytes
        self.live = spool.own  # our segments: never an orphan to our own replayer
        self._current: Segment | None = None
        self._handovers: set[asyncio.Future[None]] = set()

    def write(self, payload: bytes) -> Segment:
        """Appends one line; raises OSError if the disk refuses it (the caller then waits for Redis)."""
        segment = self._current
        if segment is None or segment.size >= self.roll_bytes or time.monotonic() - segment.opened >= self.roll_seconds:
            segment = self._roll_to_new()
        line = payload + b"\n"
        written = os.write(segment.fd, line)
        if written != len(line):  # a full disk mid-line: the torn line is skipped on replay, and ends this file
            segment.failed = True
            self._roll()
            raise OSError(f"short write to {segment.path.name}")
        segment.size += written
        segment.pending += 1
        return segment

    def settled(self, segment: Segment, ok: bool) -> None:
        """One line of `segment` reached Redis (ok) or did not (the segment is handed to the replayer)."""
        segment.pending -= 1
        if not ok and not segment.failed:
            segment.failed = True
            if segment is self._current:  # it keeps its lines until it rolls, writes or not: not a file per turn
                delay = max(0.0, segment.opened + self.roll_seconds - time.monotonic())
                asyncio.get_running_loop().call_later(delay, self._roll_if_current, segment)
        self._finish_if_done(segment)

    def _roll_if_current(self, segment: Segment) -> None:
        if segment is self._current:
            self._roll()

    def _roll_to_new(self) -> Segment:
        self._roll()
        self.directory.mkdir(parents=True, exist_ok=True)
        segment = Segment(self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}")
        self.live.add(segment.path)
        self._current = segment
        return segment

    def _roll(self) -> None:
        segment, self._current = self._current, None
        if segment is not None:
            segment.rolled = True
            self._finish_if_done(segment)

    def _finish_if_done(self, segment: Segment) -> None:
        if not segment.rolled or segment.pending or segment.finished:
            return
        segment.finished = True
        if not segment.failed:
            # Unlinked before its lock goes: no replayer can claim a file Redis had taken whole.
            segment.path.unlink(missing_ok=True)
            self._close(segment)
            return
        handover = asyncio.get_running_loop().run_in_executor(None, self._hand_over, segment)
        self._handovers.add(handover)
        handover.add_done_callback(self._handovers.discard)

    def _hand_over(self, segment: Segment) -> None:
        try:
            os.fsync(segment.fd)
            segment.path.rename(segment.path.with_suffix(".ready"))
        except OSError as exc:  # left as it is: once we exit, its lock is free and it is replayed as an orphan
            log.warning("click_wal_handover_failed", file=segment.path.name, error=type(exc).__name__)
            return
        self._close(segment)

    def _close(self, segment: Segment) -> None:
        fd, segment.fd = segment.fd, -1
        self.live.discard(segment.path)
        os.close(fd)  # releases the lock

    async def close(self) -> None:
        """Rolls the current segment and waits for the hand-overs. A segment with lines still unsettled
        stays on disk under our lock; once this process is gone it is replayed as an orphan."""
        self._roll()
        if self._handovers:
            await asyncio.wait([*self._handovers], timeout=10)
