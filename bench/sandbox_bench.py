"""Throughput of the platform sandbox: uvicorn, one worker pinned to one core, loopback only.

Starts the sandbox in a subprocess on a free 127.0.0.1 port, mints valid tokens through the admin surface,
then drives a realistic mix of data calls (all six platforms) from the other core (64 connections, ~10 s)
with wrk (Debian's package; installed when missing and apt is usable) cycling through the mix from a Lua
script, or an async httpx generator as a fallback (which saturates before the server does).
Platform rate limits are lifted first: the bench measures the
emulator, not the emulated limits. Writes bench/results/sandbox.json.

    .venv/bin/python bench/sandbox_bench.py [--seconds 10] [--concurrency 64]
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
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

RESULTS = Path(__file__).parent / "results" / "sandbox.json"
SERVER = """
import os, sys, uvicorn
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})  # one core for the server
from loupe.sandbox import create_app
uvicorn.run(create_app(seed=42), host="127.0.0.1", port=int(sys.argv[1]), workers=1,
            log_level="warning", access_log=False, lifespan="off")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(base: str, deadline: float = 20) -> None:
    start = time.monotonic()
    async with httpx.AsyncClient() as client:
        while time.monotonic() - start < deadline:
            try:
                if (await client.get(f"{base}/_sandbox/clock")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError("sandbox did not start")


async def build_mix(client: httpx.AsyncClient, base: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, request kwargs) covering every platform's main data calls with valid tokens."""
    await client.post(
        f"{base}/_sandbox/limits",
        json={
            "meta_app_per_hour": 10**9,
            "meta_user_per_hour": 10**9,
            "meta_buc_per_hour": 10**9,
            "tiktok_per_minute": 10**9,
            "youtube_units_per_day": 10**9,
            "twitch_points_per_minute": 10**9,
            "x_per_15min": {"users_me": 10**9, "user_tweets": 10**9, "users": 10**9, "tweets": 10**9},
        },
    )
    accounts = (await client.get(f"{base}/_sandbox/accounts")).json()

    async def mint(platform: str, account: dict[str, Any]) -> str:
        r = await client.post(f"{base}/_sandbox/tokens", json={"platform": platform, "account": account["id"]})
        return r.json()["access_token"]  # type: ignore[no-any-return]

    mix: list[tuple[str, str, dict[str, Any]]] = []
    graph = f"{base}/graph.facebook.com/v23.0"
    for ig in [a for a in accounts["instagram"] if a["linked_page"]][:4]:
        tok = await mint("instagram", ig)
        p = {"access_token": tok}
        media = (await client.get(f"{graph}/{ig['id']}/media", params={**p, "limit": 5})).json()["data"]
        mix += [
            ("GET", f"{graph}/{ig['id']}", {"params": {**p, "fields": "id,username,followers_count,media_count"}}),
            (
                "GET",
                f"{graph}/{ig['id']}/media",
                {
                    "params": {
                        **p,
                        "limit": 25,
                        "fields": "id,caption,media_type,media_product_type,like_count,comments_count,"
                        "timestamp,permalink",
                    }
                },
            ),
            ("GET", f"{graph}/{ig['id']}/stories", {"params": {**p, "fields": "id,media_url,timestamp"}}),
            ("GET", f"{graph}/{media[0]['id']}/insights", {"params": {**p, "metric": "views,reach,likes,saved"}}),
            (
                "GET",
                f"{graph}/{ig['id']}/insights",
                {
                    "params": {
                        **p,
                        "metric": "follower_demographics",
                        "period": "lifetime",
                        "metric_type": "total_value",
                        "breakdown": "country",
                    }
                },
            ),
        ]
    page = accounts["facebook"][0]
    tok = await mint("facebook", page)
    mix.append(
        (
            "GET",
            f"{graph}/{page['id']}/posts",
            {
                "params": {
                    "access_token": tok,
                    "limit": 25,
                    "fields": "id,message,created_time,shares,reactions.summary(total_count).limit(0)",
                }
            },
        )
    )
    for tt in accounts["tiktok"][:2]:
        h = {"Authorization": f"Bearer {await mint('tiktok', tt)}"}
        api = f"{base}/open.tiktokapis.com/v2"
        mix += [
            ("GET", f"{api}/user/info/", {"params": {"fields": "open_id,display_name,follower_count"}, "headers": h}),
            (
                "POST",
                f"{api}/video/list/",
                {"params": {"fields": "id,create_time,like_count,view_count"}, "json": {"max_count": 20}, "headers": h},
            ),
        ]
    for yt in [a for a in accounts["youtube"] if a["has_channel"]][:2]:
        h = {"Authorization": f"Bearer {await mint('youtube', yt)}"}
        data = f"{base}/www.googleapis.com/youtube/v3"
        mix += [
            (
                "GET",
                f"{data}/channels",
                {"params": {"part": "snippet,statistics,contentDetails", "mine": "true"}, "headers": h},
            ),
            (
                "GET",
                f"{data}/playlistItems",
                {
                    "params": {"part": "contentDetails", "maxResults": 50, "playlistId": yt["uploads_playlist"]},
                    "headers": h,
                },
            ),
        ]
    for xa in accounts["twitter"][:2]:
        h = {"Authorization": f"Bearer {await mint('twitter', xa)}"}
        mix += [
            ("GET", f"{base}/api.x.com/2/users/me", {"params": {"user.fields": "public_metrics"}, "headers": h}),
            (
                "GET",
                f"{base}/api.x.com/2/users/{xa['id']}/tweets",
                {"params": {"max_results": 100, "tweet.fields": "created_at,public_metrics,entities"}, "headers": h},
            ),
        ]
    for tw in accounts["twitch"][:2]:
        h = {"Authorization": f"Bearer {await mint('twitch', tw)}", "Client-Id": "loupe-sandbox-twitch"}
        helix = f"{base}/api.twitch.tv/helix"
        mix += [
            ("GET", f"{helix}/users", {"headers": h}),
            ("GET", f"{helix}/videos", {"params": {"user_id": tw["id"], "first": 20}, "headers": h}),
        ]
    return mix


async def load(base: str, seconds: float, concurrency: int) -> dict[str, Any]:
    # one small client per 4 workers: httpcore's pool gets slow with many connections in one client
    shards = max(1, concurrency // 4)
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(shards)]
    async with clients[0] as setup:
        mix = await build_mix(setup, base)
    clients[0] = httpx.AsyncClient(limits=limits, timeout=30)
    try:
        latencies: list[float] = []
        errors = 0
        counter = 0
        stop = time.perf_counter() + seconds

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal errors, counter
            while time.perf_counter() < stop:
                method, url, kwargs = mix[counter % len(mix)]
                counter += 1
                started = time.perf_counter()
                try:
                    r = await client.request(method, url, **kwargs)
                    if r.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker(clients[n % shards]) for n in range(concurrency)))
        elapsed = time.perf_counter() - began
    finally:
        for client in clients:
            await client.aclose()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p99_ms": round(p99 * 1000, 2),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else 0.0,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "concurrency": concurrency,
        "mix_size": len(mix),
        "load_generator": "httpx",
        "server": "uvicorn, 1 worker, 1 core, loopback",
    }


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for this ASCII data


async def wrk_load(base: str, seconds: float, concurrency: int) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as setup:
        mix = await build_mix(setup, base)
    entries = []
    for method, url, kwargs in mix:
        request = httpx.Request(method, url, **kwargs)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}}
        body = request.content.decode() if request.content else None
        fields = [
            f"method={_lua_string(method)}",
            f"path={_lua_string(request.url.raw_path.decode())}",
            "headers={" + ",".join(f"[{_lua_string(k)}]={_lua_string(v)}" for k, v in headers.items()) + "}",
        ]
        if body:
            fields.append(f"body={_lua_string(body)}")
        entries.append("{" + ",".join(fields) + "}")
    script = Path(tempfile.mkdtemp()) / "mix.lua"
    script.write_text(
        "local reqs = {" + ",\n".join(entries) + "}\n"
        "local i = 0\n"
        "request = function()\n  i = i + 1\n  local r = reqs[(i % #reqs) + 1]\n"
        "  return wrk.format(r.method, r.path, r.headers, r.body)\nend\n"
    )
    threads = 2
    out = subprocess.run(  # noqa: ASYNC221 - the bench has nothing else to run meanwhile
        ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{int(seconds)}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p99_ms": _wrk_ms(out, "99%"),
        "p50_ms": _wrk_ms(out, "50%"),
        "requests": total,
        "errors": errors,
        "seconds": seconds,
        "concurrency": concurrency,
        "mix_size": len(mix),
        "load_generator": "wrk",
        "server": "uvicorn, 1 worker, 1 core, loopback",
    }


def _wrk_ms(out: str, percentile: str) -> float:
    value, unit = re.search(rf"{re.escape(percentile)}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def ensure_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
    return shutil.which("wrk") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))  # keep the client off the server's core
        asyncio.run(wait_ready(base))
        proc = psutil.Process(server.pid)
        cpu_before = proc.cpu_times()
        runner = wrk_load if ensure_wrk() else load
        result = asyncio.run(runner(base, args.seconds, args.concurrency))
        cpu_after = proc.cpu_times()
        busy = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        # near 100 % means the server core is the bottleneck; lower means the load generator is
        result["server_cpu_pct"] = round(100 * busy / result["seconds"], 1)
    finally:
        server.terminate()
        server.wait(timeout=10)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
