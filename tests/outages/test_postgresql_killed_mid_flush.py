"""PostgreSQL killed (`kill -9` of the postmaster, no shutdown of any kind) while a real `loupe worker` is
in the middle of a flush, with a real `loupe redirect` process (granian, its default server) under load:
after the restart (crash recovery), every click the redirect acknowledged is stored exactly once. The
entries the killed flush had read are reclaimed: stored if its transaction died with PostgreSQL, found
already there if it had committed. (Redis killed -9 under load through uvicorn: test_redis_outage_under_load.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from loupe.kit.embedded import free_port
from tests.outages.support import STREAM, Process, RedirectLoad, Stack, all_stored, private_stack, wait_for

GROUP = "loupe:clicks:flush"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _postmaster_pid(stack: Stack) -> int:
    return int((stack.servers.postgres.pgdata / "postmaster.pid").read_text().split()[0])


def _flushing(redis: Redis) -> bool:
    """A worker holds entries it read and has not acknowledged: its transaction is open or committing."""
    try:
        return int(redis.xpending(STREAM, GROUP)["pending"]) > 0
    except Exception:  # the group does not exist before the first flush
        return False


def test_postgresql_killed_mid_flush_loses_and_duplicates_no_acknowledged_click(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        port = free_port()
        # Entries a killed flush left pending are reclaimed after 1 s, not the production 30 s.
        env = stack.env(LOUPE_CLICK_RECLAIM_IDLE_MS="1000")
        with (
            Redis.from_url(stack.redis_url) as redis,
            Process(["redirect", "--port", str(port)], env, tmp_path / "redirect.log") as redirect,
        ):
            wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz") or not redirect.alive, 60, "no redirect")
            assert redirect.alive, redirect.output()[-2000:]
            with RedirectLoad(f"http://127.0.0.1:{port}", stack.code) as load:
                # A backlog first, so the worker's first flush takes several transactions.
                wait_for(lambda: len(load.clicks) > 1500, 60, "no redirects")
                with Process(["worker"], env, tmp_path / "worker.log") as worker:
                    wait_for(lambda: _flushing(redis), 60, "the worker never started a flush")
                    os.kill(_postmaster_pid(stack), signal.SIGKILL)
                    wait_for(lambda: stack.servers.postgres.running_port() is None, 30, "PostgreSQL still up")
                    killed_at = len(load.clicks)
                    wait_for(lambda: len(load.clicks) > killed_at + 100, 30, "no redirects with PostgreSQL down")
                    # The postmaster's backends exit on their own; until they have, a new one refuses to start.
                    wait_for(lambda: _restart(stack), 60, "PostgreSQL did not start again")
                    restarted_at = len(load.clicks)
                    wait_for(lambda: len(load.clicks) > restarted_at + 100, 30, "no redirects after the restart")
                    load.finish()
                    assert load.failures == [], load.failures[:5]
                    stored = asyncio.run(all_stored(stack, load.clicks, timeout=90))
                    assert len(stored) == len(set(stored)) == len(load.clicks)
                    assert worker.alive and redirect.alive
        assert "Traceback" not in redirect.output() + worker.output()
        # The kill did land mid-flush: entries a flush had read were handed over again after the restart.
        assert sum(line.get("reclaimed", 0) for line in _logged(worker, "clicks_flushed")) > 0


def _logged(process: Process, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in process.output().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == event]


def _restart(stack: Stack) -> bool:
    try:
        stack.restart()
    except Exception:  # its killed backends still hold the shared memory: the next poll tries again
        return False
    return True
