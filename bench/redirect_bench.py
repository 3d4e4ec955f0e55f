"""Throughput of the click redirect against a raw ASGI 302 and a Starlette 302, with the real flusher running.

Three apps under the same server and flags (one worker process, pinned to core 0, loopback), loaded by the
same wrk (on the other cores) for the same time at the same concurrency, alternated over `--runs` rounds
(the order rotates each round) so a burst of load from elsewhere on the machine hits all of them alike:

- `raw`: a bare ASGI callable sending the same 302 and headers as ours (bench/redirect_apps.py);
- `starlette`: the same answer through Starlette's routing;
- `ours`: loupe.redirect (link from the cache, click id, the turn's clicks written ahead to its local log
  and answered, then group-committed to the Redis stream), as configured by default.

A real `loupe worker` (arq, its production cron: a flush every 2 s) runs all along on the other cores with
the embedded PostgreSQL and Redis. For each run of ours: the server's own count of answered 302 (its
/metrics, on the separate metrics listener) against the rows in PostgreSQL once the stream is drained,
the not-recorded counter, clicks stored per second while wrk ran, and the flush lag measured as the age
of the oldest stream entry not yet stored and acknowledged (sampled every 100 ms, until the stream is empty).

On two cores, wrk shares the other core with PostgreSQL, Redis and the flusher: wherever they run ahead
of it, rps and latency measure the load generator's wait, not the server (under ours the server core sat
5-10 % idle, p99 6-7 ms; without the flusher, 99 % busy and p99 under 5 ms). So wrk runs real-time
(`chrt -f 1`, or nice -10 where real-time is not allowed), and the flusher and PostgreSQL at nice 10,
below Redis, for every app alike (only ours gives them work): they catch up once each run ends, and
`e2e_clicks_per_s`, `max_flush_lag_s` and the drained count say what they did meanwhile. `priorities`
records what each ran at. Each run starts with a `--warmup` load of its own (not measured): the first
seconds of a fresh process (connections, caches) are not its steady state.

Embedded PostgreSQL and Redis (AOF everysec) in a temporary folder unless LOUPE_DATABASE_URL and
LOUPE_REDIS_URL are set. Writes bench/results/redirect.json (or --output).

    .venv/bin/python bench/redirect_bench.py [--seconds 10] [--connections 64] [--runs 5] [--servers uvicorn,granian]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from redis import Redis
from servers import bench_servers

BENCH = Path(__file__).parent
RESULTS = BENCH / "results" / "redirect.json"
AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
SERVER_CORE = 0
FLUSHER_NICE = 10  # see the docstring: the load generator first, the flusher last
KINDS = ("raw", "starlette", "ours")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> None:
    if shutil.which("wrk") is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (Debian package `wrk`)")


def server_command(server: str, kind: str, port: int) -> list[str]:
    """The same flags for every app; only the application differs."""
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1", "--runtime-threads", "1",
                "--host", "127.0.0.1", "--port", str(port), "--no-ws", "--log-level", "warning",
                "--working-dir", str(BENCH), f"redirect_apps:{kind}"]  # fmt: skip
    return [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--log-level", "warning", "--no-access-log", "--no-proxy-headers",
            f"redirect_apps:{kind}"]  # fmt: skip


def wait_ready(url: str, deadline: float = 60) -> None:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 302:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def _cpu_seconds(pid: int) -> float:
    """CPU of the server and its children (granian serves from a child process)."""
    proc = psutil.Process(pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def metric(port: int, name: str, labels: str = "") -> float:
    """One sample of the server's own /metrics, from its separate listener."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    found = re.search(rf"^{re.escape(name + labels)} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def settled_metric(port: int, name: str, labels: str = "") -> float:
    """After wrk stops, the requests still in the server finish: read until two samples agree."""
    last = metric(port, name, labels)
    while True:
        time.sleep(0.2)
        value = metric(port, name, labels)
        if value == last:
            return value
        last = value


class BacklogSampler(threading.Thread):
    """Age of the oldest entry left in the click stream (not yet stored and acknowledged: the flush
    deletes an entry only after its transaction committed), every 100 ms."""

    def __init__(self, redis_url: str, stream: str) -> None:
        super().__init__(daemon=True)
        self.redis = Redis.from_url(redis_url)
        self.stream = stream
        self.max_age_s = 0.0
        self.empty = threading.Event()
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            oldest = self.redis.xrange(self.stream, count=1)
            if oldest:
                self.empty.clear()
                entry_ms = int(oldest[0][0].split(b"-")[0])
                now_s, now_us = self.redis.time()
                self.max_age_s = max(self.max_age_s, (now_s * 1000 + now_us // 1000 - entry_ms) / 1000)
            else:
                self.empty.set()
            self._done.wait(0.1)

    def stop(self) -> None:
        self._done.set()
        self.join(5)
        self.redis.close()


def wrk(url: str, seconds: int, connections: int, first: list[str]) -> tuple[str, str]:
    """wrk's report, and the scheduling it ran under (`first`: the prefix of `load_generator_first`)."""
    proc = subprocess.Popen(
        [*first, "wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"User-Agent: {AGENT}", url],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    process = psutil.Process(proc.pid)
    deadline = time.monotonic() + 5
    while process.name() != "wrk" and time.monotonic() < deadline:  # until the prefix has run it
        time.sleep(0.001)
    policy = os.sched_getscheduler(proc.pid)
    ran = (
        f"SCHED_FIFO {os.sched_getparam(proc.pid).sched_priority}"
        if policy == os.SCHED_FIFO
        else f"nice {process.nice()}"
    )
    out, _ = proc.communicate()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, "wrk")
    return out, ran


def load_generator_first() -> list[str]:
    """A command prefix that has the load generator run ahead of everything on its core: real-time if
    allowed (root or CAP_SYS_NICE), else nice -10 (which, not allowed either, runs it as it is)."""
    if shutil.which("chrt") and subprocess.run(["chrt", "-f", "1", "true"], capture_output=True).returncode == 0:
        return ["chrt", "-f", "1"]
    return ["nice", "-n", "-10"]


async def count_rows(database_url: str, link_id: str) -> int:
    from loupe.clicks.pg import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM clicks WHERE link_id = $1", uuid.UUID(link_id)))
    finally:
        await conn.close()


def load(
    server: str, kind: str, path: str, args: argparse.Namespace, env: dict[str, str], ctx: dict[str, Any]
) -> dict[str, Any]:
    port, metrics_port = free_port(), free_port()
    env = {**env, "LOUPE_METRICS_PORT": str(metrics_port)}
    loadavg_before = [round(x, 2) for x in os.getloadavg()]
    proc = subprocess.Popen(["taskset", "-c", str(SERVER_CORE), *server_command(server, kind, port)], env=env)
    sampler: BacklogSampler | None = None
    extra: dict[str, Any] = {}
    try:
        wait_ready(f"http://127.0.0.1:{port}{path}")
        if kind == "ours":
            sampler = BacklogSampler(ctx["redis_url"], ctx["stream"])
            sampler.start()
        url = f"http://127.0.0.1:{port}{path}"
        if args.warmup:
            wrk(url, args.warmup, args.connections, ctx["first"])
        if kind == "ours":
            rows_before = asyncio.run(count_rows(ctx["database_url"], ctx["link_id"]))
        cpu_before, started = _cpu_seconds(proc.pid), time.monotonic()
        out, wrk_ran = wrk(url, args.seconds, args.connections, ctx["first"])
        elapsed = time.monotonic() - started
        cpu = _cpu_seconds(proc.pid) - cpu_before
        if kind == "ours":
            rows_after = asyncio.run(count_rows(ctx["database_url"], ctx["link_id"]))
            extra["e2e_clicks_per_s"] = round((rows_after - rows_before) / elapsed, 1)
            extra["server_count"] = int(settled_metric(metrics_port, "loupe_redirects_total", '{status="302"}'))
            extra["not_recorded"] = int(metric(metrics_port, "loupe_clicks_not_recorded_total"))
    finally:
        proc.terminate()  # ours: the lifespan waits for the writes in flight before exiting
        proc.wait(timeout=60)
    if sampler is not None:
        drained = sampler.empty.wait(timeout=300)
        sampler.stop()
        recorded = asyncio.run(count_rows(ctx["database_url"], ctx["link_id"]))
        # Cumulative: one link for all the runs of ours, so the per-run figures are differences.
        extra["recorded"] = recorded - ctx["recorded"]
        ctx["recorded"] = recorded
        extra["lost"] = extra["server_count"] - extra["recorded"]
        extra["max_flush_lag_s"] = round(sampler.max_age_s, 2) if drained else None
    completed = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "server": server,
        "kind": kind,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(out, "50%"),
        "p99_ms": _ms(out, "99%"),
        "completed": completed,
        "errors": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
        "socket_errors": m.group(1) if (m := re.search(r"Socket errors: (.*)", out)) else None,
        "server_cpu_pct": round(100 * cpu / elapsed, 1),
        "server_cpu_us_per_request": round(1e6 * cpu / max(completed, 1), 1),
        "wrk_ran": wrk_ran,
        **extra,
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


async def prepare(database_url: str) -> tuple[str, str, str]:
    """A workspace and one creator link; returns (link id, code, the Location ours answers)."""
    from loupe.clicks.events import new_click_id
    from loupe.clicks.pg import asyncpg_dsn
    from loupe.redirect.destination import split_location
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    workspace_id, _ = await create_workspace(database_url, f"bench-{uuid.uuid4().hex[:6]}", Plan.production)
    link_id, code = str(uuid.uuid4()), f"bench{uuid.uuid4().hex[:6]}"
    destination, utm = "https://shop.example/spring?ref=abc", {"utm_source": "instagram", "utm_campaign": "spring"}
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute(
            "INSERT INTO tracking_links (id, workspace_id, kind, name, code, destination, utm_source, utm_campaign) "
            "VALUES ($1, $2, 'creator', 'Bench', $3, $4, $5, $6)",
            uuid.UUID(link_id), workspace_id, code, destination, utm["utm_source"], utm["utm_campaign"],
        )  # fmt: skip
    finally:
        await conn.close()
    prefix, suffix = split_location(destination, utm)  # type: ignore[misc]
    return link_id, code, f"{prefix}{new_click_id()}{suffix}"


def pin(pid: int, cores: set[int], nice: int = 0) -> list[int]:
    """`pid` and its children to `cores` at `nice` (PostgreSQL's backends fork from the postmaster and
    inherit both)."""
    for proc in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # a backend that exited meanwhile
            proc.cpu_affinity(sorted(cores))
            proc.nice(nice)
    return sorted(psutil.Process(pid).cpu_affinity())


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def summary(runs: list[dict[str, Any]], server: str, kind: str) -> dict[str, Any]:
    mine = [r for r in runs if r["server"] == server and r["kind"] == kind]
    rps = [r["rps"] for r in mine]
    return {
        "rps": median(rps),
        "rps_runs": rps,
        "rps_spread_pct": round(100 * (max(rps) - min(rps)) / statistics.median(rps), 1),
        "p50_ms": median([r["p50_ms"] for r in mine]),
        "p99_ms": median([r["p99_ms"] for r in mine]),
        "server_cpu_pct": median([r["server_cpu_pct"] for r in mine]),
        "server_cpu_us_per_request": median([r["server_cpu_us_per_request"] for r in mine]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load before each run")
    parser.add_argument(
        "--servers",
        default="uvicorn",
        help="comma-separated, of uvicorn and granian: alternated too; the first "
        "is the one the top-level figures are for, every one gets its medians in `by_server`",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    asgi_servers = args.servers.split(",")
    if not set(asgi_servers) <= {"uvicorn", "granian"}:
        raise SystemExit("--servers: uvicorn, granian")
    ensure_wrk()
    cores = os.cpu_count() or 1
    if cores < 2:
        raise SystemExit("needs 2 cores: the server on one, everything else on the others")
    others = set(range(cores)) - {SERVER_CORE}
    os.sched_setaffinity(0, others)  # wrk and the worker (children) inherit it

    from loupe.config import Settings

    settings = Settings()
    with bench_servers() as servers:
        database_url, redis_url = servers.database_url, servers.redis_url
        pinning: dict[str, Any] = {"server": [SERVER_CORE], "wrk": sorted(others), "worker": sorted(others)}
        priorities: dict[str, Any] = {"server": 0, "redis": 0}
        if servers.embedded is not None:
            data_dir = servers.data_dir
            pinning["redis"] = pin(int((data_dir / "redis" / "redis.pid").read_text().strip()), others)
            postmaster = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
            pinning["postgres"] = pin(postmaster, others, FLUSHER_NICE)
            priorities["postgres"] = int(psutil.Process(postmaster).nice())
        link_id, code, location = asyncio.run(prepare(database_url))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")},
            "LOUPE_DATABASE_URL": database_url,
            "LOUPE_REDIS_URL": redis_url,
            "LOUPE_DATA_DIR": str(servers.data_dir),
            "LOUPE_LOG_LEVEL": "WARNING",
            "LOUPE_CLICK_WRITE_AHEAD": str(settings.click_write_ahead).lower(),
            "BENCH_LOCATION": location,
        }
        worker_env = {k: v for k, v in env.items() if k != "BENCH_LOCATION"}
        worker = subprocess.Popen([sys.executable, "-m", "loupe", "worker"], env=worker_env)
        pin(worker.pid, others, FLUSHER_NICE)  # before its threads start: they inherit it
        priorities["worker"] = psutil.Process(worker.pid).nice()
        ctx = {"database_url": database_url, "redis_url": redis_url, "link_id": link_id, "recorded": 0,
               "stream": settings.click_stream, "first": load_generator_first()}  # fmt: skip
        runs: list[dict[str, Any]] = []
        try:
            for round_ in range(args.runs):
                for server in asgi_servers:
                    for kind in KINDS[round_ % 3 :] + KINDS[: round_ % 3]:
                        runs.append(load(server, kind, f"/l/{code}", args, env, ctx))
                        print(json.dumps(runs[-1]), flush=True)
            assert worker.poll() is None, "the worker died during the benchmark"
        finally:
            worker.terminate()
            worker.wait(timeout=60)

    by_server = {}
    for server in asgi_servers:
        raw, starlette, ours = (summary(runs, server, kind) for kind in KINDS)
        by_server[server] = {"ratio": round(ours["rps"] / raw["rps"], 3), "ours": ours, "raw": raw,
                             "starlette": starlette}  # fmt: skip
    raw, starlette, ours = (
        by_server[asgi_servers[0]]["raw"],
        by_server[asgi_servers[0]]["starlette"],
        by_server[asgi_servers[0]]["ours"],
    )
    mine = [r for r in runs if r["server"] == asgi_servers[0] and r["kind"] == "ours"]
    every_ours = [r for r in runs if r["kind"] == "ours"]  # losses and lags: under whichever server
    lags = [r["max_flush_lag_s"] for r in every_ours]
    result = {
        "server": asgi_servers[0],
        "write_ahead": settings.click_write_ahead,  # LOUPE_CLICK_WRITE_AHEAD=false: answered once Redis acknowledged
        "ratio": round(ours["rps"] / raw["rps"], 3),
        "ratio_starlette": round(ours["rps"] / starlette["rps"], 3),
        # The same ratio from the server's CPU per request: what `ratio` would be were both servers saturated
        # (when wrk, sharing its cores with PostgreSQL, Redis, the worker and other people's work, is the limit,
        # rps measures wrk; the server core's CPU per request still measures the server).
        "ratio_cpu": round(raw["server_cpu_us_per_request"] / ours["server_cpu_us_per_request"], 3),
        "rps": ours["rps"],
        "rps_runs": ours["rps_runs"],
        "rps_spread_pct": ours["rps_spread_pct"],
        "baseline_rps": raw["rps"],
        "baseline_rps_runs": raw["rps_runs"],
        "baseline_rps_spread_pct": raw["rps_spread_pct"],
        "starlette_rps": starlette["rps"],
        "starlette_rps_runs": starlette["rps_runs"],
        "p50_ms": ours["p50_ms"],
        "p99_ms": ours["p99_ms"],
        "baseline_p50_ms": raw["p50_ms"],
        "baseline_p99_ms": raw["p99_ms"],
        "starlette_p50_ms": starlette["p50_ms"],
        "starlette_p99_ms": starlette["p99_ms"],
        "server_cpu_pct": ours["server_cpu_pct"],
        "baseline_server_cpu_pct": raw["server_cpu_pct"],
        "server_cpu_us_per_request": ours["server_cpu_us_per_request"],
        "baseline_server_cpu_us_per_request": raw["server_cpu_us_per_request"],
        "starlette_server_cpu_us_per_request": starlette["server_cpu_us_per_request"],
        "e2e_clicks_per_s": median([r["e2e_clicks_per_s"] for r in mine]),
        "e2e_clicks_per_s_runs": [r["e2e_clicks_per_s"] for r in mine],
        "max_flush_lag_s": None if None in lags else max(lags),
        "max_flush_lag_measure": "age of the oldest click-stream entry not yet stored and acknowledged, "
        "sampled every 100 ms from wrk's start until the stream is empty (the largest of every run of ours)",
        "server_count": sum(r["server_count"] for r in every_ours),
        "recorded": sum(r["recorded"] for r in every_ours),
        "lost": sum(r["lost"] for r in every_ours),
        "not_recorded": sum(r["not_recorded"] for r in every_ours),
        "errors": sum(r["errors"] for r in every_ours),
        "connections": args.connections,
        "seconds": args.seconds,
        "runs_per_app": args.runs,
        "pinning": pinning,
        "priorities": {**priorities, "wrk": sorted({r["wrk_ran"] for r in runs})},  # see the docstring
        "warmup_seconds": args.warmup,
        "flusher": "a real `loupe worker` (arq, production cron: flush_clicks every 2 s) on the other cores",
        "load_generator": "wrk -t2, other cores, ahead of everything there (`priorities`)",
        "loadavg_start": runs[0]["loadavg_before"],
        "loadavg_end": runs[-1]["loadavg_after"],
        "cpu_count": cores,
        "by_server": by_server,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
