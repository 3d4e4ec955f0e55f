"""Availability and durability of the redirect through a Redis outage, as an operator would try it.

A real `loupe serve` (the api with the redirect at /l) and a real `loupe worker` on embedded PostgreSQL and
Redis (AOF everysec) in a temporary folder. A load generator (asyncio + httpx, `--connections` visitors back
to back) hits one tracking link for `--seconds`; Redis is killed with SIGKILL at `--kill-at` and started
again on the same port from the same folder at `--restart-at`. A baseline run without the outage comes
first, with the same load. Then the worker flushes everything and the clicks are counted by id.

Keys: answered (302s), recorded (answered click ids found in PostgreSQL), lost, duplicated (rows beyond one
per id), failed_requests (errors and non-3xx), max_gap_s (longest time without a successful redirect).
Writes bench/results/outage.json.

    .venv/bin/python bench/outage_bench.py [--seconds 30] [--kill-at 10] [--restart-at 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from redirect_bench import AGENT, free_port, prepare, wait_ready
from servers import BenchServers, bench_servers

from loupe.clicks.pg import asyncpg_dsn

RESULTS = Path(__file__).parent / "results" / "outage.json"


class Load:
    """Visitors back to back; keeps each acknowledged click id, each success's time, each failure."""

    def __init__(self, url: str, connections: int) -> None:
        self.url, self.connections = url, connections
        self.clicks: list[str] = []
        self.success_at: list[float] = []
        self.latencies_ms: list[float] = []
        self.failures: dict[str, int] = {}

    async def run(self, seconds: float, events: list[tuple[float, Any]]) -> None:
        self.started = time.monotonic()
        self.ended = self.started + seconds
        limits = httpx.Limits(max_connections=self.connections, max_keepalive_connections=self.connections)
        async with httpx.AsyncClient(timeout=10, limits=limits, headers={"user-agent": AGENT}) as client:
            await asyncio.gather(*(self._visitor(client) for _ in range(self.connections)), self._events(events))

    async def _events(self, events: list[tuple[float, Any]]) -> None:
        for at, action in events:
            await asyncio.sleep(max(0, self.started + at - time.monotonic()))
            await asyncio.to_thread(action)

    async def _visitor(self, client: httpx.AsyncClient) -> None:
        while (sent := time.monotonic()) < self.ended:
            try:
                response = await client.get(self.url)
            except httpx.HTTPError as exc:
                self._failed(type(exc).__name__)
                await asyncio.sleep(0.05)
                continue
            done = time.monotonic()
            if response.status_code != 302:
                self._failed(str(response.status_code))
                continue
            self.clicks.append(parse_qs(urlsplit(response.headers["location"]).query)["lp_click"][0])
            self.success_at.append(done)
            self.latencies_ms.append((done - sent) * 1000)

    def _failed(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def max_gap_s(self) -> float:
        times = [self.started, *sorted(self.success_at), self.ended]
        return round(max(b - a for a, b in itertools.pairwise(times)), 3)


def _kill_redis(servers: BenchServers) -> None:
    assert servers.embedded is not None
    os.kill(int((servers.embedded.redis.dir / "redis.pid").read_text()), signal.SIGKILL)


def _restart_redis(servers: BenchServers) -> None:
    assert servers.embedded is not None
    while servers.embedded.redis.running_port() is not None:  # the kill has landed
        time.sleep(0.01)
    assert servers.embedded.restart_dead() == ["redis"]


async def _count(database_url: str, link_id: str, clicks: list[str], timeout: float = 180) -> tuple[int, int]:
    """Waits for the worker to store every answered click (or the timeout); (recorded, duplicated)."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    wanted = {uuid.UUID(c) for c in clicks}
    deadline = time.monotonic() + timeout
    try:
        while True:
            rows = await conn.fetch("SELECT id FROM clicks WHERE link_id = $1", uuid.UUID(link_id))
            ids = [row["id"] for row in rows]
            recorded = len(wanted & set(ids))
            if recorded == len(wanted) or time.monotonic() > deadline:
                return recorded, len(ids) - len(set(ids))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


def _process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "loupe", *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def run_once(servers: BenchServers, args: argparse.Namespace, outage: bool, logs: Path) -> dict[str, Any]:
    link_id, code = asyncio.run(prepare(servers.database_url))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")},
        "LOUPE_DATABASE_URL": servers.database_url,
        "LOUPE_REDIS_URL": servers.redis_url,
        "LOUPE_DATA_DIR": str(servers.data_dir),
        "LOUPE_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    kind = "outage" if outage else "baseline"
    api = _process(["serve", "--port", str(port)], env, logs / f"{kind}-api.log")
    worker = _process(["worker"], env, logs / f"{kind}-worker.log")
    try:
        url = f"http://127.0.0.1:{port}/l/{code}"
        wait_ready(url)
        load = Load(url, args.connections)
        events = [(args.kill_at, lambda: _kill_redis(servers)), (args.restart_at, lambda: _restart_redis(servers))]
        asyncio.run(load.run(args.seconds, events if outage else []))
        recorded, duplicated = asyncio.run(_count(servers.database_url, link_id, load.clicks))
        alive = {"api": api.poll() is None, "worker": worker.poll() is None}
    finally:
        for proc in (api, worker):
            proc.terminate()
            proc.wait(30)
    answered = len(load.clicks)
    latencies = sorted(load.latencies_ms)
    return {
        "answered": answered,
        "recorded": recorded,
        "lost": answered - recorded,
        "duplicated": duplicated,
        "failed_requests": sum(load.failures.values()),
        "failures": load.failures,
        "max_gap_s": load.max_gap_s(),
        "rps": round(answered / args.seconds, 1),
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)], 2) if latencies else None,
        "processes_alive_at_end": alive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--kill-at", type=float, default=10)
    parser.add_argument("--restart-at", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if os.environ.get("LOUPE_DATABASE_URL") or os.environ.get("LOUPE_REDIS_URL"):
        raise SystemExit("bench-outage kills its own embedded Redis: unset LOUPE_DATABASE_URL and LOUPE_REDIS_URL")

    logs = Path(tempfile.mkdtemp(prefix="loupe-outage-logs-"))
    load_before = os.getloadavg()[0]
    with bench_servers() as servers:
        baseline = run_once(servers, args, outage=False, logs=logs)
        outage = run_once(servers, args, outage=True, logs=logs)
    result = {
        **{key: outage[key] for key in ("answered", "recorded", "lost", "duplicated", "failed_requests", "max_gap_s")},
        "outage": outage,
        "baseline": baseline,
        "seconds": args.seconds,
        "redis_killed_at_s": args.kill_at,
        "redis_restarted_at_s": args.restart_at,
        "connections": args.connections,
        "load_generator": "asyncio + httpx in the bench process, keep-alive connections",
        "server": "loupe serve (api + redirect, 1 uvicorn worker) and loupe worker, embedded PostgreSQL and Redis",
        # A shared machine makes rps and latencies vary a lot; the counts do not depend on it.
        "load_average_1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "cpus": os.cpu_count(),
        "logs": str(logs),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
