"""A port the embedded servers chose as free can be taken before they bind it: they try a fresh one. A port
they were told to use (a restart on the same port) that is taken fails in one sentence, without waiting."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from loupe.kit import embedded
from loupe.kit.embedded import EmbeddedRedis, EmbeddedServers, PortTaken


@contextmanager
def _taken() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_chosen_port_taken_before_the_bind_is_replaced_by_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = embedded.free_port
    with _taken() as busy:
        picks = iter([busy, real(), busy, real()])  # each server first picks the port another program took
        monkeypatch.setattr(embedded, "free_port", lambda: next(picks))
        servers = EmbeddedServers(tmp_path / "data").start()
        try:
            pg_port, redis_port = servers.postgres.running_port(), servers.redis.running_port()
            assert busy not in (pg_port, redis_port) and None not in (pg_port, redis_port)
            psql = [str(servers.postgres.psql), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-d", "loupe"]
            assert subprocess.run([*psql, "-tAc", "SELECT 1"], capture_output=True, text=True).stdout.strip() == "1"
            with socket.create_connection(("127.0.0.1", redis_port or 0), timeout=5) as conn:
                conn.sendall(b"PING\r\n")
                assert conn.recv(64) == b"+PONG\r\n"
        finally:
            servers.destroy()


def test_a_given_port_taken_fails_at_once_naming_it(tmp_path: Path) -> None:
    with _taken() as busy:
        started = time.monotonic()
        with pytest.raises(PortTaken, match=f"port {busy} was taken by another program"):
            EmbeddedRedis(tmp_path / "data").start(port=busy)
        assert time.monotonic() - started < 30  # the log said so: not the 90 s wait for a PONG
