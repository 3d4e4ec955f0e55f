"""PostgreSQL stopped (`pg_ctl stop -m immediate`) under redirect load through a real `loupe serve`, then
started again: the cached link keeps being served, the api recovers by itself, and every acknowledged click
is stored exactly once (buffered in Redis, flushed by a real `loupe worker` once PostgreSQL is back)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from loupe.kit.embedded import free_port
from tests.outages.support import Process, RedirectLoad, all_stored, private_stack, serve_api, wait_for


def test_postgresql_stopped_under_load_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {stack.api_key}"}
        with (
            serve_api(stack, tmp_path, port) as api,
            Process(["worker"], stack.env(), tmp_path / "worker.log") as worker,
            RedirectLoad(base, stack.code) as load,
        ):
            wait_for(lambda: len(load.clicks) > 200, 30, "no redirects")
            stack.stop_postgres()
            stopped_at = len(load.clicks)
            time.sleep(8)
            assert len(load.clicks) - stopped_at > 50  # served from the cache while PostgreSQL is down
            assert httpx.get(f"{base}/v1/reports", headers=auth).status_code == 503
            stack.restart()
            wait_for(lambda: httpx.get(f"{base}/v1/reports", headers=auth).status_code == 200, 20, "no recovery")
            time.sleep(2)
            load.finish()
            assert load.failures == [], load.failures[:5]
            stored = asyncio.run(all_stored(stack, load.clicks, timeout=90))
            assert len(stored) == len(set(stored)) == len(load.clicks)
            assert api.alive and worker.alive
        assert "Traceback" not in api.output() + worker.output()
