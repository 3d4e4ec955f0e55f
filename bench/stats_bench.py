"""Stats over ten million clicks read from the roll-ups, and the flush with roll-up upkeep against without.

Data: `--clicks` (10,000,000) clicks spread over the last 90 days across 50 creator links (25 creators with a
link in two of 5 campaigns, 10 links a campaign), 30 countries and 9 referrers (skewed), 4 devices, 3% bots;
conversions on 2% of people's clicks (EUR and USD). Clicks are generated in SQL, then the roll-ups are built by
`loupe stats rebuild --days 90` (timed) and the tables analysed.

Stats: the api under uvicorn (one process, loopback), requests one at a time, the kinds interleaved in every
round: link, campaign, creators (first page) and workspace stats over 30 and 90 days, in the workspace zone
Europe/Paris (days from hour rows: the slower path) and in UTC. The raw scan the stats ran before (the tests'
reference) answers the same campaign 30-day request a few times for comparison. CSV exports (a campaign's
90 days, every creator): time to the first byte and to the last.

Flush: the flush's store step (enrich + insert in one transaction, `store_raw`) on batches of the worker's
size (`click_flush_batch`, 2,000) of clicks of the current hour over the 50 links, 10,000 clicks a round,
with roll-ups and without (the insert of before), alternated round by round on the same tables (10M rows
already in). Writes bench/results/stats.json.

    .venv/bin/python bench/stats_bench.py [--clicks 10000000] [--rounds 40]   (or LOUPE_BENCH_CLICKS=…)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from servers import bench_servers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' raw-scan reference

RESULTS = Path(__file__).parent / "results" / "stats.json"
LINKS, CAMPAIGNS, DAYS = 50, 5, 90
FLUSH_CLICKS_PER_ROUND = 10_000
COUNTRIES = "{US,FR,DE,GB,ES,IT,BR,CA,NL,BE,CH,AT,SE,NO,DK,PL,PT,IE,MX,AR,JP,KR,AU,NZ,IN,TR,MA,ZA,EG,SG}"
REFERRERS = "{instagram.com,l.instagram.com,tiktok.com,youtube.com,t.co,facebook.com,linktr.ee,snapchat.com,NULL}"
GENERATE = f"""
INSERT INTO clicks (id, clicked_at, workspace_id, link_id, country, device, os, browser, referrer_host, bot,
                    bot_reason, visitor_hash, unique_visitor)
SELECT gen_random_uuid(), $1::timestamptz + r.at * interval '{DAYS} days', $2, ($3::uuid[])[1 + floor(r.link * {LINKS})],
       ('{COUNTRIES}'::text[])[1 + floor(30 * r.country ^ 3)],
       CASE WHEN r.bot < 0.03 THEN 'bot' ELSE (ARRAY['mobile','mobile','mobile','desktop','tablet','other'])[1 + floor(r.device * 6)] END,
       'iOS', 'Mobile Safari', ('{REFERRERS}'::text[])[1 + floor(9 * r.referrer ^ 2)],
       r.bot < 0.03, CASE WHEN r.bot < 0.03 THEN 'crawler' END, md5(r.device::text), r.bot >= 0.03 AND r.unique < 0.6
FROM (SELECT random() AS at, random() AS link, random() AS country, random() AS device, random() AS referrer,
             random() AS bot, random() AS unique FROM generate_series(1, $4)) AS r
"""  # noqa: E501
CONVERT = """
INSERT INTO conversions (id, workspace_id, click_id, clicked_at, link_id, event, value, currency, external_id,
                         created_at, updated_at)
SELECT gen_random_uuid(), workspace_id, id, clicked_at, link_id, 'purchase', round((5 + random() * 95)::numeric, 2),
       CASE WHEN random() < 0.8 THEN 'EUR' ELSE 'USD' END, id::text,
       least(clicked_at + random() * interval '2 days', now()), now()
FROM clicks WHERE NOT bot AND random() < 0.02
"""
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
]
REFERRER_URLS = ["", "https://www.instagram.com/", "https://www.tiktok.com/", "https://t.co/x", "https://youtube.com/"]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return _ms(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


async def prepare(database_url: str, clicks: int) -> dict[str, Any]:
    from loupe.clicks.partitions import ensure_month, month_start
    from loupe.clicks.pg import asyncpg_dsn
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    workspace_id, key = await create_workspace(database_url, "bench-stats", Plan.production)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        campaigns = [uuid.uuid4() for _ in range(CAMPAIGNS)]
        for i, campaign in enumerate(campaigns):
            await conn.execute(
                "INSERT INTO campaigns (id, workspace_id, name, starts_on) VALUES ($1, $2, $3, '2026-01-01')",
                campaign, workspace_id, f"Campaign {i}",
            )  # fmt: skip
        creators = [uuid.uuid4() for _ in range(LINKS // 2)]
        for i, creator in enumerate(creators):
            await conn.execute(
                "INSERT INTO influencers (id, workspace_id, name, tags, created_at, updated_at) "
                "VALUES ($1, $2, $3, '{}', now(), now())",
                creator, workspace_id, f"Creator {i:02d}",
            )  # fmt: skip
        links = [uuid.uuid4() for _ in range(LINKS)]
        for i, link in enumerate(links):
            await conn.execute(
                "INSERT INTO tracking_links (id, workspace_id, campaign_id, influencer_id, kind, name, code, "
                "destination) VALUES ($1, $2, $3, $4, 'creator', $5, $6, 'https://shop.example/')",
                link, workspace_id, campaigns[i % CAMPAIGNS], creators[i // 2], f"Link {i}", f"bench{i:03d}",
            )  # fmt: skip
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
        for offset in range(5):
            async with conn.transaction():
                await ensure_month(conn, month_start(start.date(), offset))
        started = time.monotonic()
        chunk = 1_000_000
        for done in range(0, clicks, chunk):
            await conn.execute(GENERATE, start, workspace_id, links, min(chunk, clicks - done))
            print(f"  {done + min(chunk, clicks - done):,} clicks generated", flush=True)
        await conn.execute(CONVERT)
        generated = time.monotonic() - started
        conversions = await conn.fetchval("SELECT count(*) FROM conversions")
    finally:
        await conn.close()
    return {
        "workspace_id": workspace_id, "key": key, "links": links, "campaigns": campaigns,
        "generate_s": round(generated, 1), "conversions": conversions,
    }  # fmt: skip


async def build_rollups(database_url: str) -> float:
    from loupe.clicks.pg import asyncpg_dsn
    from loupe.stats.rebuild import rebuild_database

    started = time.monotonic()
    await rebuild_database(database_url, days=DAYS)  # `loupe stats rebuild --days 90`: one chunk per link
    elapsed = time.monotonic() - started
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by then
    finally:
        await conn.close()
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    api = subprocess.Popen([sys.executable, "-m", "loupe", "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code < 500:
                return api
        except httpx.HTTPError:
            time.sleep(0.2)
    api.kill()
    raise SystemExit("the api did not start")


def _ranges() -> dict[int, dict[str, str]]:
    today = datetime.now(UTC).date()
    return {
        days: {"from": (today - timedelta(days=days - 1)).isoformat(), "to": today.isoformat()} for days in (30, 90)
    }


async def measure_stats(base: str, data: dict[str, Any], rounds: int) -> dict[str, dict[str, float]]:
    headers = {"Authorization": f"Bearer {data['key']}"}
    samples: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        for zone in ("Europe/Paris", "UTC"):
            assert (await client.patch("/v1/workspace", json={"time_zone": zone})).status_code == 200
            for r in range(rounds + 2):  # two warm-up rounds
                kinds = [
                    ("link", f"/v1/links/{data['links'][r % LINKS]}/stats"),
                    ("campaign", f"/v1/campaigns/{data['campaigns'][r % CAMPAIGNS]}/stats"),
                    ("creators", "/v1/stats/creators"),
                    ("workspace", "/v1/stats"),
                ]
                order = [(kind, path, days) for kind, path in kinds for days in (30, 90)]
                for kind, path, days in order[r % len(order) :] + order[: r % len(order)]:
                    started = time.perf_counter()
                    response = await client.get(path, params=_ranges()[days])
                    elapsed = time.perf_counter() - started
                    if response.status_code != 200:
                        raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
                    if r >= 2:
                        samples.setdefault(f"{kind}_{days}d_{zone}", []).append(elapsed)
    return {
        name: {"p50_ms": _p(values, 0.5), "p99_ms": _p(values, 0.99), "n": len(values)}
        for name, values in samples.items()
    }


async def measure_csv(base: str, data: dict[str, Any], times: int) -> dict[str, dict[str, float]]:
    headers = {"Authorization": f"Bearer {data['key']}"}
    paths = {
        "campaign_90d": (f"/v1/campaigns/{data['campaigns'][0]}/stats", {**_ranges()[90], "format": "csv"}),
        "creators_90d": ("/v1/stats/creators", {**_ranges()[90], "format": "csv"}),
    }
    out: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        firsts: dict[str, list[float]] = {name: [] for name in paths}
        totals: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(times):
            for name, (path, params) in paths.items():
                started = time.perf_counter()
                async with client.stream("GET", path, params=params) as response:
                    first = None
                    async for _chunk in response.aiter_raw():
                        first = first or time.perf_counter() - started
                    assert response.status_code == 200
                firsts[name].append(first or 0.0)
                totals[name].append(time.perf_counter() - started)
        for name in paths:
            out[name] = {
                "first_byte_p50_ms": _p(firsts[name], 0.5), "first_byte_max_ms": _ms(max(firsts[name])),
                "total_p50_ms": _p(totals[name], 0.5), "total_max_ms": _ms(max(totals[name])),
            }  # fmt: skip
    return out


async def measure_raw(database_url: str, data: dict[str, Any], times: int) -> list[float]:
    """The campaign's 30 days by the raw scan the stats ran before (tests/stats/raw_reference.py)."""
    from tests.stats.raw_reference import RawStatsRepository

    from loupe.kit.db import create_engine, create_sessionmaker
    from loupe.stats.service import StatsService
    from loupe.workspaces.auth import Principal

    engine = create_engine(database_url)
    principal = Principal(data["workspace_id"], uuid.uuid4(), frozenset({"read"}))
    today = datetime.now(UTC).date()
    out = []
    try:
        for _ in range(times):
            async with create_sessionmaker(engine)() as session:
                started = time.perf_counter()
                await StatsService(session, principal, RawStatsRepository).campaign(
                    data["campaigns"][0], today - timedelta(days=29), today
                )
                out.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return out


def _batch(data: dict[str, Any], size: int, serial: int) -> list[Any]:
    from loupe.clicks.events import CLICK, RawClick, new_click_id

    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    return [
        RawClick(
            new_click_id(), now_us - i, CLICK, f"bench{(serial + i) % LINKS:03d}",
            data["links"][(serial + i) % LINKS].hex,
            data["workspace_id"].hex, f"{(serial * 7 + i * 13) % 223 + 1}.{i % 251}.{(serial + i) % 199}.{i % 97 + 1}",
            AGENTS[i % len(AGENTS)], REFERRER_URLS[(i // 3) % len(REFERRER_URLS)], False,
        )
        for i in range(size)
    ]  # fmt: skip


async def measure_flush(
    database_url: str, data: dict[str, Any], rounds: int, batches: int, size: int
) -> dict[str, Any]:
    from loupe.clicks.pg import asyncpg_dsn, pool_transaction
    from loupe.clicks.store import store_raw

    pool = await asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=1)
    transaction = pool_transaction(pool)
    rates: dict[bool, list[float]] = {True: [], False: []}
    serial = 0
    try:
        for r in range(rounds + 1):  # the first round warms caches up and is not counted
            for rollups in (True, False) if r % 2 else (False, True):
                prepared = [_batch(data, size, serial + b * size) for b in range(batches)]
                serial += batches * size
                started = time.perf_counter()
                for batch in prepared:
                    async with transaction() as conn:
                        await store_raw(conn, batch, rollups=rollups)
                elapsed = time.perf_counter() - started
                if r:
                    rates[rollups].append(batches * size / elapsed)
    finally:
        await pool.close()
    return {
        "with": round(statistics.median(rates[True])), "without": round(statistics.median(rates[False])),
        "with_min_max": [round(min(rates[True])), round(max(rates[True]))],
        "without_min_max": [round(min(rates[False])), round(max(rates[False]))],
        "with_rounds": [round(r) for r in rates[True]], "without_rounds": [round(r) for r in rates[False]],
        "rounds": rounds, "batches_per_round": batches, "clicks_per_batch": size,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=int(os.environ.get("LOUPE_BENCH_CLICKS", 10_000_000)))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--flush-rounds", type=int, default=10)
    args = parser.parse_args()
    started = time.monotonic()
    loads: dict[str, list[float]] = {}

    def load(phase: str) -> None:  # the machine is shared: each phase's figures next to its load
        loads[phase] = [round(x, 1) for x in os.getloadavg()]

    with bench_servers() as servers:
        database_url = servers.database_url
        print(f"generating {args.clicks:,} clicks", flush=True)
        data = asyncio.run(prepare(database_url, args.clicks))
        print("building the roll-ups (loupe stats rebuild)", flush=True)
        rebuild_s = asyncio.run(build_rollups(database_url))
        env = {
            **os.environ,
            "LOUPE_DATABASE_URL": database_url,
            "LOUPE_REDIS_URL": servers.redis_url,
            "LOUPE_DATA_DIR": str(servers.data_dir),
            "LOUPE_LOG_LEVEL": "WARNING",
        }
        port = free_port()
        api = serve(env, port)
        try:
            print("stats", flush=True)
            load("stats_start")
            stats = asyncio.run(measure_stats(f"http://127.0.0.1:{port}", data, args.rounds))
            load("stats_end")
            print("csv", flush=True)
            exports = asyncio.run(measure_csv(f"http://127.0.0.1:{port}", data, 10))
        finally:
            api.terminate()
            api.wait(10)
        print("raw scan", flush=True)
        raw = asyncio.run(measure_raw(database_url, data, 3))
        print("flush", flush=True)
        load("flush_start")
        from loupe.config import Settings

        size = Settings.model_fields["click_flush_batch"].default  # the worker's batch, as deployed
        flush = asyncio.run(measure_flush(database_url, data, args.flush_rounds, FLUSH_CLICKS_PER_ROUND // size, size))
        load("flush_end")

    def worst(kind: str, zone: str = "Europe/Paris") -> float:
        return max(stats[f"{kind}_{days}d_{zone}"]["p99_ms"] for days in (30, 90))

    result = {
        "clicks": args.clicks,
        "conversions": data["conversions"],
        "link_p99_ms": worst("link"),
        "campaign_p99_ms": worst("campaign"),
        "creators_p99_ms": worst("creators"),
        "workspace_p99_ms": worst("workspace"),
        "csv_first_byte_ms": max(e["first_byte_p50_ms"] for e in exports.values()),
        "csv_total_ms": max(e["total_p50_ms"] for e in exports.values()),
        "flush_clicks_per_s": flush["with"],
        "flush_clicks_per_s_without_rollups": flush["without"],
        "flush_ratio": round(flush["with"] / flush["without"], 3),
        "raw_scan_campaign_30d_ms": [_ms(s) for s in raw],
        "rebuild_s": round(rebuild_s, 1),
        "generate_s": data["generate_s"],
        "stats": stats,
        "csv": exports,
        "flush": flush,
        "notes": "p99 keys: the worse of 30 and 90 days in Europe/Paris (by_day from hour rows); UTC in `stats`. "
        "csv keys: p50 over 10 runs, the worse of the two exports. Requests one at a time over loopback to "
        "uvicorn (1 process); the machine is shared (2 cores).",
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "load_average_by_phase": loads,
        "seconds": round(time.monotonic() - started),
        "date": date.today().isoformat(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
