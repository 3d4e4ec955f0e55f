"""A redirect answers once the click is in its write-ahead log, before Redis acknowledged it: a real
`loupe serve` killed (`kill -9`) right after answering, while Redis hangs, loses none of those clicks. The
next process on the same data folder replays the log it left, and a real worker stores each click once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from loupe.kit.embedded import free_port
from tests.outages.support import BROWSER, Process, all_stored, click_id, private_stack, serve_api, wait_for


async def _visits(base: str, code: str, n: int) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        answers = await asyncio.gather(*(client.get(f"/l/{code}", headers={"user-agent": BROWSER}) for _ in range(n)))
    return [click_id(answer) for answer in answers]


def test_a_redirect_killed_right_after_answering_while_redis_hangs_loses_no_click(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        redis_pid = int((stack.servers.redis.dir / "redis.pid").read_text())
        spool = stack.servers.data_dir / "spool" / "clicks"
        port = free_port()
        # A long Redis bound: what the killed process answered was in no spool file, only in its log.
        env = stack.env(LOUPE_CLICK_REDIS_TIMEOUT_MS="30000")
        api = Process(["serve", "--port", str(port)], env, tmp_path / "killed.log")
        try:
            wait_for(lambda: api.alive and _visits_ok(port), 60, "the api never answered")
            sent = asyncio.run(_visits(f"http://127.0.0.1:{port}", stack.code, 20))  # Redis answering
            os.kill(redis_pid, signal.SIGSTOP)  # Redis hangs: the XADDs wait, the visitors do not
            try:
                hung = asyncio.run(asyncio.wait_for(_visits(f"http://127.0.0.1:{port}", stack.code, 40), 10))
                api.kill()
            finally:
                os.kill(redis_pid, signal.SIGCONT)
        finally:
            api.stop()
        left = sorted(spool.iterdir())
        assert left and {path.suffix for path in left} == {".wal"}, left  # the killed process's log, no spool file
        sent += hung

        port = free_port()
        with (
            serve_api(stack, tmp_path, port) as again,
            Process(["worker"], stack.env(), tmp_path / "worker.log") as worker,
        ):
            # Its first redirect opens its click buffer, whose replayer takes what dead processes left.
            sent += asyncio.run(_visits(f"http://127.0.0.1:{port}", stack.code, 5))
            stored = asyncio.run(all_stored(stack, sent, timeout=60))
            assert len(stored) == len(set(stored)) == len(sent) == 65
            wait_for(lambda: not any(path.exists() for path in left), 10, "the killed process's log is still there")
            assert again.alive and worker.alive


def _visits_ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
