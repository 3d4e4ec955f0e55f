"""Report summary latency with 1,000,000 tracked contents, in-process (ASGI) against embedded PostgreSQL
(or LOUPE_DATABASE_URL / LOUPE_REDIS_URL when both are set).

One report with 10 trackings of 1,000 connected Instagram accounts; 1,000,000 account contents (posts, reels,
stories spread evenly over the last year, API metrics) each tracked once, written with INSERT ... SELECT
generate_series. Then `GET /v1/reports/{id}/summary` is timed over rounds of six shapes, alternated: no
filter, one tracking, one network, the last 30 days, 100 days in the middle of the year, and the year but its
first day. The app runs as `loupe api` does once started (its objects frozen out of the garbage collector's
passes). Writes bench/results/report.json (p50/p99 over every request, per shape too).

    .venv/bin/python bench/report_bench.py [--contents 1000000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from servers import bench_servers
from sqlalchemy import text

RESULTS = Path(__file__).parent / "results" / "report.json"
ACCOUNTS = 1_000
TRACKINGS = 10

FILL = [
    """INSERT INTO connections (id, platform, platform_user_id, username, scopes, status, connected_at, created_at,
       updated_at, reminders)
       SELECT gen_random_uuid(), 'instagram', 'u' || i, 'user' || i, '{}', 'active', now(), now(), now(), '{}'
       FROM generate_series(1, :accounts) AS i""",
    """INSERT INTO trackings (id, workspace_id, report_id, name, network, hashtags, mentions, keywords, start_date,
       created_at, updated_at)
       SELECT gen_random_uuid(), :ws, :report, 'T' || i, 'instagram', ARRAY['tag' || i], '{}', '{}',
       current_date - 400, now(), now() FROM generate_series(1, :trackings) AS i""",
    """INSERT INTO tracking_profiles (id, workspace_id, tracking_id, platform, handle, platform_user_id, created_at)
       SELECT gen_random_uuid(), :ws, t.id, 'instagram', c.username, c.platform_user_id, now()
       FROM (SELECT id, platform_user_id, username, row_number() OVER (ORDER BY id) AS n FROM connections) AS c
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM trackings) AS t ON c.n % :trackings = t.k""",
    """INSERT INTO account_contents (id, connection_id, platform, platform_content_id, type, published_at, caption,
       media, metrics, extras, created_at, updated_at)
       SELECT gen_random_uuid(), c.id, 'instagram', 'm' || i, (ARRAY['post', 'reel', 'story'])[1 + i % 3],
       now() - make_interval(secs => i * 31536000.0 / :contents), 'caption #tag' || (i % 10), '[]',
       jsonb_build_object('likes', i % 500, 'comments', i % 50, 'shares', i % 20, 'saves', i % 30,
                          'views', i % 5000, 'reach', i % 4000), '{}', now(), now()
       FROM generate_series(1, :contents) AS i
       JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM connections) AS c ON i % :accounts = c.k""",
    """INSERT INTO tracked_contents (id, workspace_id, report_id, tracking_id, profile_id, content_id, network, type,
       published_at, matched_terms, created_at)
       SELECT gen_random_uuid(), :ws, :report, p.tracking_id, p.id, a.id, 'instagram', a.type, a.published_at,
       ARRAY['#tag'], now()
       FROM account_contents AS a JOIN connections AS c ON c.id = a.connection_id
       JOIN tracking_profiles AS p ON p.platform_user_id = c.platform_user_id""",
    "ANALYZE",
]


async def fill(ctx: Any, workspace_id: uuid.UUID, report_id: uuid.UUID, contents: int) -> float:
    started = time.perf_counter()
    params = {"ws": workspace_id, "report": report_id, "accounts": ACCOUNTS, "trackings": TRACKINGS}
    async with ctx.engine.begin() as conn:
        for statement in FILL:
            await conn.execute(text(statement), {**params, "contents": contents})
    return time.perf_counter() - started


async def run(database_url: str, redis_url: str, data_dir: Path, contents: int, rounds: int) -> dict[str, Any]:
    from loupe.app import create_app
    from loupe.config import Environment, Settings
    from loupe.kit.context import ProcessContext
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    settings = Settings(
        env=Environment.test,
        data_dir=data_dir,
        database_url=database_url,  # type: ignore[arg-type]
        redis_url=redis_url,  # type: ignore[arg-type]
        log_level="WARNING",
    )
    workspace_id, key = await create_workspace(database_url, f"bench-{uuid.uuid4().hex[:6]}", Plan.production)
    ctx = await ProcessContext.create(settings, database_url, redis_url)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        app = create_app(settings, context=ctx)
        gc.freeze()  # as the api's lifespan does once its resources are open
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=300
        ) as api:
            report = (await api.post("/v1/reports", json={"name": "Bench"}, headers=headers)).json()
            async with ctx.engine.begin() as conn:  # the report is a year old: its trackings cover the year
                await conn.execute(text("UPDATE reports SET created_at = now() - interval '400 days'"))
            fill_s = await fill(ctx, workspace_id, uuid.UUID(report["id"]), contents)
            trackings = (await api.get(f"/v1/reports/{report['id']}/trackings", headers=headers)).json()["data"]
            today = datetime.now(UTC).date()
            shapes = {
                "all": "",
                "tracking": f"?tracking_id={trackings[0]['id']}",
                "network": "?network=instagram",
                "last_30_days": f"?from={today - timedelta(days=30)}",
                "100_days": f"?from={today - timedelta(days=230)}&to={today - timedelta(days=131)}",
                "year_but_a_day": f"?from={today - timedelta(days=364)}",
            }
            path = f"/v1/reports/{report['id']}/summary"
            first = await api.get(path, headers=headers)  # warm the caches once
            assert first.status_code == 200, first.text
            total = first.json()["totals"]["contents"]
            timings: dict[str, list[float]] = {name: [] for name in shapes}
            for _ in range(rounds):
                for name, query in shapes.items():
                    started = time.perf_counter()
                    answer = await api.get(path + query, headers=headers)
                    timings[name].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text
    finally:
        await ctx.close()
    every = sorted(t for values in timings.values() for t in values)

    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {
        "contents": total,
        "p50_ms": round(statistics.median(every), 1),
        "p99_ms": p(every, 0.99),
        "max_ms": round(every[-1], 1),
        "requests": len(every),
        "by_shape": {
            name: {"p50_ms": round(statistics.median(v), 1), "p99_ms": p(v, 0.99)} for name, v in timings.items()
        },
        "fill_s": round(fill_s, 1),
        "goal": {"p99_ms": 200},
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "load_average_at_start": load_at_start,
        "how": "report_contents and its roll-ups (migrations 0015, 0017), filled by the triggers of the "
        "tracked_contents INSERT: the all-time roll-up without a date range; over a range, the period roll-ups "
        "of its whole months and of its edge days (per creator, network and type); only the top 10 read contents",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contents", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with bench_servers() as servers:
        result = asyncio.run(run(servers.database_url, servers.redis_url, servers.data_dir, args.contents, args.rounds))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
