"""Helpers of the outage tests: a private pair of embedded servers (killing the session's would break
the other tests of this xdist worker), real `loupe` processes, and clicks counted in PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from redis.asyncio import Redis

from loupe.clicks.events import CLICK, RawClick, encode_batch, new_click_id, now_us
from loupe.clicks.pg import asyncpg_dsn
from loupe.kit.embedded import EmbeddedServers, free_port
from loupe.kit.migrations import upgrade

STREAM = "loupe:clicks"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


@dataclass
class Stack:
    servers: EmbeddedServers
    link_id: str
    workspace_id: str
    code: str
    api_key: str

    @property
    def database_url(self) -> str:
        return self.servers.database_url

    @property
    def redis_url(self) -> str:
        return self.servers.redis_url

    def env(self, **extra: str) -> dict[str, str]:
        """A `loupe` process's environment: these servers, JSON logs at INFO, nothing from ours."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")},
            "LOUPE_DATABASE_URL": self.database_url,
            "LOUPE_REDIS_URL": self.redis_url,
            "LOUPE_DATA_DIR": str(self.servers.data_dir),
            "LOUPE_LOG_JSON": "true",
            "LOUPE_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **extra,
        }

    def kill_redis(self) -> None:
        pid = int((self.servers.redis.dir / "redis.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.servers.redis.running_port() is None, 10, "Redis still running")

    def stop_postgres(self) -> None:
        self.servers.postgres._pg("pg_ctl", "-w", "-m", "immediate", "stop")

    def restart(self) -> None:
        assert self.servers.restart_dead()


@contextmanager
def private_stack(tmp: Path) -> Iterator[Stack]:
    servers = EmbeddedServers(tmp / "data").start()
    try:
        upgrade(servers.database_url)
        yield Stack(servers, *asyncio.run(make_link(servers.database_url)))
    finally:
        servers.stop_started()
        if servers.postgres.cluster is not None:
            servers.postgres.destroy()


async def make_link(database_url: str) -> tuple[str, str, str, str]:
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    workspace_id, api_key = await create_workspace(database_url, "Outages", Plan.production)
    link_id, code = uuid.uuid4(), f"out{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO tracking_links (id, workspace_id, kind, name, code, destination) "
            "VALUES ($1, $2, 'creator', 'Outage', $3, 'https://shop.example/spring')",
            link_id, workspace_id, code,
        )  # fmt: skip
    finally:
        await conn.close()
    return link_id.hex, str(workspace_id), code, api_key


async def push_clicks(stack: Stack, entries: int, per_entry: int = 50) -> list[str]:
    """Stream entries as the redirect's group commit writes them; returns the click ids."""
    redis = Redis.from_url(stack.redis_url)
    sent: list[str] = []
    try:
        for _ in range(entries):
            batch = [
                RawClick(new_click_id(), now_us(), CLICK, stack.code, stack.link_id,
                         stack.workspace_id.replace("-", ""), "81.2.69.160", BROWSER, "", False)
                for _ in range(per_entry)
            ]  # fmt: skip
            await redis.xadd(STREAM, {"b": encode_batch([c.wire() for c in batch])})
            sent += [c.id for c in batch]
    finally:
        await redis.aclose()
    return sent


async def stored_clicks(stack: Stack) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url), timeout=2)
    try:
        return [row["id"].hex for row in await conn.fetch("SELECT id FROM clicks")]
    finally:
        await conn.close()


async def all_stored(stack: Stack, sent: list[str], timeout: float = 60) -> list[str]:
    """Waits until every id of `sent` is in PostgreSQL; returns what is stored (to check for repeats)."""
    deadline = time.monotonic() + timeout
    while True:
        stored: list[str] = []
        with suppress(OSError, asyncpg.PostgresError):  # PostgreSQL may be on its way back
            stored = await stored_clicks(stack)
        if set(sent) <= set(stored):
            return stored
        assert time.monotonic() < deadline, f"{len(set(sent) - set(stored))} of {len(sent)} clicks never stored"
        await asyncio.sleep(0.25)


def mail_port() -> int:
    """A free port whose next one is free too: the mail sink takes both (SMTP, its page). A free port alone
    had its neighbour taken by some connection's local port now and then (CI: `loupe dev` refused it)."""
    while True:
        port = free_port()
        with socket.socket() as neighbour:
            try:
                neighbour.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def stop_dev(dev: subprocess.Popen[str], printed: Callable[[], list[str]], timeout: float = 90) -> None:
    """Ctrl-C `loupe dev`, as a person would. If it does not stop within `timeout` (its stop is bounded:
    children 15 s, relays 5, Redis 30, PostgreSQL 45), it is asked for every thread's stack, killed, and
    the failure shows that stack and its last lines (and, chained, the test's own error if there was one)."""
    dev.send_signal(signal.SIGINT)
    with suppress(subprocess.TimeoutExpired):
        dev.wait(timeout)
    if dev.poll() is None:
        dev.send_signal(signal.SIGUSR1)  # faulthandler: where each thread waits
        time.sleep(2)
        dev.kill()
        dev.wait(10)
        raise AssertionError("loupe dev did not stop; it printed, last:\n" + "\n".join(printed()))


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return value


class Process:
    """A `loupe …` process; its output goes to a file the test reads."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "loupe", *args], env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)  # a loaded machine: shutting down closes pools, waits for jobs
            except subprocess.TimeoutExpired:
                self.kill()
        self._out.close()


def worker_check(stack: Stack) -> tuple[int, str]:
    """`loupe worker --check`, the probe docker-compose runs."""
    result = subprocess.run(
        [sys.executable, "-m", "loupe", "worker", "--check"],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""


def click_id(response: httpx.Response) -> str:
    """The click id the redirect appended to the destination (`lp_click`)."""
    assert response.status_code == 302, (response.status_code, response.text[:200])
    return parse_qs(urlsplit(response.headers["location"]).query)["lp_click"][0]


def serve_api(stack: Stack, tmp: Path, port: int) -> Process:
    api = Process(["serve", "--port", str(port)], stack.env(), tmp / "api.log")
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz") or not api.alive, 60, "the api never answered")
        assert api.alive, api.output()[-2000:]
    except BaseException:
        api.stop()
        raise
    return api


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class RedirectLoad(threading.Thread):
    """`connections` visitors hitting the redirect back to back, in a thread with its own event loop.
    Keeps the click id of every 302 (an acknowledged click) and every failure (an error or another status)."""

    def __init__(self, base: str, code: str, connections: int = 8) -> None:
        super().__init__(daemon=True)
        self.base, self.code, self.connections = base, code, connections
        self.clicks: list[str] = []
        self.failures: list[str] = []
        self._done = threading.Event()

    def run(self) -> None:
        asyncio.run(self._visitors())

    async def _visitors(self) -> None:
        limits = httpx.Limits(max_connections=self.connections)
        async with httpx.AsyncClient(base_url=self.base, timeout=10, limits=limits) as client:
            await asyncio.gather(*(self._visitor(client) for _ in range(self.connections)))

    async def _visitor(self, client: httpx.AsyncClient) -> None:
        while not self._done.is_set():
            try:
                response = await client.get(f"/l/{self.code}", headers={"user-agent": BROWSER})
                self.clicks.append(click_id(response))
            except (httpx.HTTPError, AssertionError, KeyError) as exc:
                self.failures.append(repr(exc)[:200])
                await asyncio.sleep(0.05)

    def finish(self) -> None:
        self._done.set()
        if self.is_alive():
            self.join(30)

    def __enter__(self) -> RedirectLoad:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()
