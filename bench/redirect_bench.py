"""Throughput of the click redirect against a bare Starlette app that only answers 302.

Both run under the same server settings (uvicorn, one worker, pinned to one core, loopback, the same
flags) and are loaded by the same generator (wrk, from the other core) for the same time at the same
concurrency. Ours does the real work: link from the cache, click id, Location with UTM, the click
group-committed to the Redis stream (answered only once acknowledged). Afterwards the clicks are
flushed into PostgreSQL and counted against the requests wrk completed.

Embedded PostgreSQL and Redis (AOF everysec) in a temporary folder unless LOUPE_DATABASE_URL and
LOUPE_REDIS_URL are set. Writes bench/results/redirect.json.

    .venv/bin/python bench/redirect_bench.py [--seconds 10] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from servers import bench_servers

RESULTS = Path(__file__).parent / "results" / "redirect.json"
AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
# The same uvicorn flags for both apps; only the application differs.
SERVE = """
import os, sys, uvicorn
os.sched_setaffinity(0, {0}) if hasattr(os, "sched_setaffinity") else None  # one core for the server
kind, port = sys.argv[1], int(sys.argv[2])
if kind == "bare":
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def redirect(request):
        return Response(status_code=302, headers={"location": "https://shop.example/spring?ref=abc"})

    app = Starlette(routes=[Route("/l/{code}", redirect, methods=["GET", "HEAD"])])
else:
    from loupe.config import Settings
    from loupe.redirect.factory import create_redirect_app

    settings = Settings()
    app = create_redirect_app(settings, os.environ["LOUPE_DATABASE_URL"], os.environ["LOUPE_REDIS_URL"])
uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False, proxy_headers=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> None:
    if shutil.which("wrk") is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (Debian package `wrk`)")


def wait_ready(url: str, deadline: float = 30) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if httpx.get(url, timeout=1).status_code in (200, 302):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def load(kind: str, path: str, seconds: int, connections: int, env: dict[str, str]) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVE, kind, str(port)], env=env)
    try:
        wait_ready(f"http://127.0.0.1:{port}{path}")
        proc = psutil.Process(server.pid)
        before = proc.cpu_times()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"User-Agent: {AGENT}",
             f"http://127.0.0.1:{port}{path}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        after = proc.cpu_times()
    finally:
        server.terminate()  # ours: the lifespan closes the buffer and replays any spool before exiting
        server.wait(timeout=30)
    completed = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(out, "50%"),
        "p99_ms": _ms(out, "99%"),
        "completed": completed,
        "errors": errors,
        "socket_errors": socket_errors.group(1) if socket_errors else None,
        "server_cpu_pct": round(100 * ((after.user + after.system) - (before.user + before.system)) / seconds, 1),
    }


async def prepare(database_url: str) -> tuple[str, str]:
    """A workspace and one creator link; returns (link id, code)."""
    from loupe.clicks.pg import asyncpg_dsn
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    workspace_id, _ = await create_workspace(database_url, f"bench-{uuid.uuid4().hex[:6]}", Plan.production)
    link_id, code = str(uuid.uuid4()), f"bench{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO tracking_links (id, workspace_id, kind, name, code, destination, utm_source, utm_campaign) "
            "VALUES ($1, $2, 'creator', 'Bench', $3, 'https://shop.example/spring?ref=abc', 'instagram', 'spring')",
            uuid.UUID(link_id), workspace_id, code,
        )  # fmt: skip
    finally:
        await conn.close()
    return link_id, code


async def flush_and_count(database_url: str, redis_url: str, link_id: str) -> tuple[int, float]:
    from redis.asyncio import Redis

    from loupe.clicks.flush import ClickFlusher
    from loupe.clicks.pg import asyncpg_dsn, engine_transaction
    from loupe.config import Settings
    from loupe.kit.db import create_engine

    settings = Settings()
    engine = create_engine(database_url)
    redis = Redis.from_url(redis_url)
    started = time.monotonic()
    try:
        flusher = ClickFlusher(
            redis, engine_transaction(engine), stream=settings.click_stream, group=settings.click_group,
            batch_entries=20,
        )  # fmt: skip
        while (await flusher.flush(max_seconds=60)).entries:
            pass
        elapsed = time.monotonic() - started
        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            recorded = await conn.fetchval("SELECT count(*) FROM clicks WHERE link_id = $1", uuid.UUID(link_id))
        finally:
            await conn.close()
        return int(recorded), elapsed
    finally:
        await redis.aclose()
        await engine.dispose()


def _pin_servers(data_dir: Path, cores: set[int]) -> None:
    pids = [int((data_dir / "redis" / "redis.pid").read_text().strip())]
    pids.append(int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0]))
    for pid in pids:
        for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
            proc.cpu_affinity(sorted(cores))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    ensure_wrk()

    with bench_servers() as servers:
        database_url, redis_url, data_dir = servers.database_url, servers.redis_url, servers.data_dir
        link_id, code = asyncio.run(prepare(database_url))
        env = {
            **os.environ,
            "LOUPE_DATABASE_URL": database_url,
            "LOUPE_REDIS_URL": redis_url,
            "LOUPE_DATA_DIR": str(data_dir),
            "LOUPE_LOG_LEVEL": "WARNING",
        }
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            others = set(range(1, os.cpu_count() or 2))
            os.sched_setaffinity(0, others)  # wrk (a child) stays off the server core
            if servers.embedded is not None and os.environ.get("PIN"):
                _pin_servers(data_dir, others)  # so do the embedded Redis and PostgreSQL
        bare = load("bare", f"/l/{code}", args.seconds, args.connections, env)
        ours = load("ours", f"/l/{code}", args.seconds, args.connections, env)
        recorded, flush_seconds = asyncio.run(flush_and_count(database_url, redis_url, link_id))

    sent = ours["completed"]
    result = {
        "rps": ours["rps"],
        "baseline_rps": bare["rps"],
        "ratio": round(ours["rps"] / bare["rps"], 3),
        "p50_ms": ours["p50_ms"],
        "p99_ms": ours["p99_ms"],
        "baseline_p50_ms": bare["p50_ms"],
        "baseline_p99_ms": bare["p99_ms"],
        "sent": sent,
        "recorded": recorded,
        "lost": max(0, sent - recorded),
        # wrk stops with requests in flight: the server may have recorded those without wrk counting them.
        "in_flight_at_stop": max(0, recorded - sent),
        "errors": ours["errors"],
        "socket_errors": ours["socket_errors"],
        "server_cpu_pct": ours["server_cpu_pct"],
        "baseline_server_cpu_pct": bare["server_cpu_pct"],
        "flush_seconds": round(flush_seconds, 2),
        "connections": args.connections,
        "seconds": args.seconds,
        "load_generator": "wrk -t2, other core",
        "server": "uvicorn, 1 worker, 1 core, loopback; ours = loupe.redirect standalone app",
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
