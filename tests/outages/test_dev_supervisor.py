"""`loupe dev` as a supervisor: a killed worker comes back while the api never stops answering, a killed
embedded Redis and a killed embedded PostgreSQL are started again on their ports, every acknowledged click
is stored once; a port already
taken fails at once with a sentence naming the option."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

import httpx
import psutil

from loupe.kit.embedded import EmbeddedServers, free_port
from tests.outages.support import Stack, all_stored, click_id, mail_port, make_link, stop_dev, wait_for

LOUPE = [sys.executable, "-m", "loupe"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}


def test_a_taken_port_fails_at_once_naming_the_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        for option in ("--port", "--sandbox-port"):
            others = {"--port": free_port(), "--sandbox-port": free_port(), option: busy}
            result = subprocess.run(
                [*LOUPE, "dev", "--data-dir", str(tmp_path / "dev"), "--mail-port", str(mail_port()),
                 *[f"{name}={value}" for name, value in others.items()]],
                capture_output=True, text=True, env=_env(), timeout=60,
            )  # fmt: skip
            assert result.returncode == 1
            assert (
                f"Port {busy} is already in use" in result.stderr and f"choose another with {option}." in result.stderr
            )
            assert "Traceback" not in result.stderr
    assert not (tmp_path / "dev" / "redis").exists()  # at once: before any server was started


class _Lines:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def having(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


class _Prober(threading.Thread):
    """Hits /healthz and the redirect in a loop; records every failure and every click id."""

    def __init__(self, base: str, code: str) -> None:
        super().__init__(daemon=True)
        self.base, self.code = base, code
        self.failures: list[str] = []
        self.clicks: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as client:
            while not self.done.is_set():
                try:
                    health = client.get("/healthz")
                    if health.status_code != 200:
                        self.failures.append(f"healthz {health.status_code}")
                    self.clicks.append(click_id(client.get(f"/l/{self.code}")))
                except (httpx.HTTPError, AssertionError) as exc:
                    self.failures.append(repr(exc))
                time.sleep(0.02)


def _child(dev: subprocess.Popen[str], command: str) -> psutil.Process | None:
    for child in psutil.Process(dev.pid).children():
        with suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE and child.cmdline()[3:4] == [command]:  # python -m loupe …
                return child
    return None


def _worker_healthy(data_dir: Path) -> bool:
    check = [*LOUPE, "worker", "--check", "--data-dir", str(data_dir)]
    return subprocess.run(check, capture_output=True, env=_env(), timeout=60).returncode == 0


def test_dev_restarts_a_killed_worker_and_redis_while_the_api_keeps_answering(tmp_path: Path) -> None:
    data_dir = tmp_path / "dev"
    port = free_port()
    dev = subprocess.Popen(
        [*LOUPE, "dev", "--data-dir", str(data_dir), "--port", str(port), "--sandbox-port", str(free_port()),
         "--mail-port", str(mail_port()), "--no-demo"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(),
    )  # fmt: skip
    out = _Lines(dev)
    try:
        wait_for(lambda: out.having("Press Ctrl-C to stop.") or dev.poll() is not None, 120, "never came up")
        assert dev.poll() is None, "loupe dev exited while coming up"
        servers = EmbeddedServers(data_dir)
        servers.database_url = database_url = servers.postgres.url(servers.postgres.running_port() or 0)
        redis_port = servers.redis.running_port()
        link_id, workspace_id, code, _ = asyncio.run(make_link(database_url))
        prober = _Prober(f"http://127.0.0.1:{port}", code)
        prober.start()
        wait_for(lambda: len(prober.clicks) > 20, 20, "no redirects")

        worker = _child(dev, "worker")
        assert worker is not None
        worker.kill()
        wait_for(lambda: out.having("worker exited with code -9; restarting it in"), 15, "no notice of the death")
        wait_for(lambda: getattr(_child(dev, "worker"), "pid", worker.pid) != worker.pid, 30, "no new worker")
        wait_for(lambda: _worker_healthy(data_dir), 60, "the new worker never reported healthy")

        os.kill(int((servers.redis.dir / "redis.pid").read_text()), signal.SIGKILL)
        wait_for(lambda: out.having("redis stopped; started it again on the same port"), 15, "Redis not restarted")
        assert servers.redis.running_port() == redis_port
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 30, "not ready again")

        # The postmaster killed outright: its backends exit on their own, and the supervisor starts it again
        # (crash recovery replays the WAL) on the same port; the cached link is served all along.
        pg_port = servers.postgres.running_port()
        os.kill(int((servers.postgres.pgdata / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
        wait_for(lambda: out.having("postgres stopped; started it again on the same port"), 30, "PG not restarted")
        assert servers.postgres.running_port() == pg_port
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 30, "not ready again")
        time.sleep(2)
        prober.done.set()
        prober.join(10)
        assert prober.failures == [], prober.failures[:5]
        assert dev.poll() is None
        assert len(out.having("exited with code")) == 1  # nothing else died

        stack = Stack(servers, link_id, workspace_id, code, "")
        stored = asyncio.run(all_stored(stack, prober.clicks))
        assert len(stored) == len(set(stored)) == len(prober.clicks)
    except AssertionError as exc:  # what loupe dev printed says why
        raise AssertionError(f"{exc}\nloupe dev printed, last:\n" + "\n".join(out.lines[-40:])) from None
    finally:
        stop_dev(dev, lambda: out.lines[-80:])
    assert re.search(r"\bstopped\b", "\n".join(out.lines[-5:]))
