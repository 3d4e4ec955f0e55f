"""A local append-only spool: where clicks go when Redis does not acknowledge them in time.

Each process appends to its own `.active` file (held under an exclusive flock) and fsyncs every
batch before the requests are answered. The replayer rotates it to `.ready` and hands each line to
a handler; a file is unlinked only once every line was handled, so a crash replays it again (the
click ids make that harmless). Files left by dead processes are picked up too, since their locks died
with them: their spool files and their write-ahead segments (clicks/wal.py), which have the same lines.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

log = structlog.get_logger("loupe.clicks.spool")
LEFT = (".active", ".wal")  # written under a writer's lock: replayed once that lock is free


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self.own: set[Path] = set()  # this process's write-ahead segments (clicks/wal.py), live

    def _open(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._path = self.directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.active"
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return fd

    def _append(self, payload: bytes) -> None:
        with self._lock:
            fd = self._fd if self._fd is not None else self._open()
            os.write(fd, payload + b"\n")
            os.fsync(fd)

    async def append(self, payload: bytes) -> None:
        """Durable once this returns (fsync); runs off the event loop."""
        await asyncio.to_thread(self._append, payload)

    def _rotate(self) -> None:
        with self._lock:
            if self._fd is None or self._path is None:
                return
            os.rename(self._path, self._path.with_suffix(".ready"))
            os.close(self._fd)  # releases the lock: the file is now anyone's to replay
            self._fd, self._path = None, None

    def pending(self) -> bool:
        return self._fd is not None or any(self.directory.glob("*.ready")) or self._orphans()

    def _orphans(self) -> bool:
        return any(p.suffix in LEFT and p != self._path and p not in self.own for p in self.directory.glob("*.*"))

    async def replay(self, handler: Callable[[bytes], Awaitable[None]]) -> int:
        """Hand every spooled batch to `handler`; returns how many batches were handled."""
        if not self.directory.exists():
            return 0
        await asyncio.to_thread(self._rotate)
        handled = 0
        for path in sorted(self.directory.iterdir()):
            if path.suffix not in (".ready", *LEFT) or path == self._path or path in self.own:
                continue
            handled += await self._replay_file(path, handler)
        return handled

    @staticmethod
    def _claim(path: Path) -> tuple[int, list[bytes]] | None:
        """Lock a spool file and read it; None if a live writer or another replayer holds it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not path.exists():
                raise FileNotFoundError(path)  # replayed and removed by someone else meanwhile
            with open(fd, "rb", closefd=False) as file:
                return fd, [line.strip() for line in file.read().splitlines()]
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None

    @staticmethod
    def _release(fd: int, path: Path | None) -> None:
        if path is not None:
            path.unlink(missing_ok=True)
        os.close(fd)

    async def _replay_file(self, path: Path, handler: Callable[[bytes], Awaitable[None]]) -> int:
        claimed = await asyncio.to_thread(self._claim, path)
        if claimed is None:
            return 0
        fd, lines = claimed
        done = False
        try:
            count = 0
            for line in lines:
                if not line:
                    continue
                if not line.endswith(b"]"):
                    log.warning("spool_torn_line_skipped", file=path.name)  # a write cut short by a crash
                    continue
                await handler(line)
                count += 1
            done = True
            return count
        finally:
            # Unlinked only when every line was handled; otherwise kept for the next round.
            await asyncio.to_thread(self._release, fd, path if done else None)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
