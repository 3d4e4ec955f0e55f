"""Bulk invites: a 10,000-row CSV through `POST /v1/invites/bulk`, in-process (ASGI) against embedded
PostgreSQL and Redis in a temporary folder (or LOUPE_DATABASE_URL / LOUPE_REDIS_URL when both are set).

Measures the whole request: upload, parsing and validation of every row, the influencers, the invites and
their rendered emails in the outbox, and the commit. Writes bench/results/invites.json.

    .venv/bin/python bench/invites_bench.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from servers import bench_servers

RESULTS = Path(__file__).parent / "results" / "invites.json"


async def run(database_url: str, redis_url: str, data_dir: Path, rows: int) -> dict[str, Any]:
    from loupe.app import create_app
    from loupe.config import Environment, Settings
    from loupe.kit.context import ProcessContext
    from loupe.seed import create_workspace
    from loupe.workspaces.models import Plan

    settings = Settings(
        env=Environment.test,
        data_dir=data_dir,
        database_url=database_url,  # type: ignore[arg-type]
        redis_url=redis_url,  # type: ignore[arg-type]
        log_level="WARNING",
    )
    _, key = await create_workspace(database_url, f"bench-{uuid.uuid4().hex[:6]}", Plan.production)
    ctx = await ProcessContext.create(settings, database_url, redis_url)
    content = ("name,email\r\n" + "".join(f"Creator {i},creator{i}@bench.example\r\n" for i in range(rows))).encode()
    try:
        app = create_app(settings, context=ctx)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            started = time.perf_counter()
            response = await client.post(
                "/v1/invites/bulk",
                files={"file": ("invites.csv", content, "text/csv")},
                headers={"Authorization": f"Bearer {key}"},
            )
            seconds = time.perf_counter() - started
        assert response.status_code == 201, response.text
        assert response.json() == {"created": rows}
    finally:
        await ctx.close()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds), "bytes": len(content)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    with bench_servers() as servers:
        result = asyncio.run(run(servers.database_url, servers.redis_url, servers.data_dir, args.rows))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
