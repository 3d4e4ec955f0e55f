"""Redis killed (`kill -9`) under redirect load through a real `loupe serve`, down for 30 s, restarted on the
same port: every request is answered with a redirect, and every acknowledged click is stored exactly once
(spooled while Redis is down, replayed, flushed by a real `loupe worker`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from loupe.kit.embedded import free_port
from tests.outages.support import Process, RedirectLoad, all_stored, private_stack, serve_api, wait_for


def test_redis_killed_under_load_and_down_for_30_s_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        port = free_port()
        with (
            serve_api(stack, tmp_path, port) as api,
            Process(["worker"], stack.env(), tmp_path / "worker.log") as worker,
            RedirectLoad(f"http://127.0.0.1:{port}", stack.code) as load,
        ):
            wait_for(lambda: len(load.clicks) > 200, 30, "no redirects")
            stack.kill_redis()
            killed_at, back_at = len(load.clicks), time.monotonic() + 30
            while time.monotonic() < back_at:  # down for 30 s, the api answering all along
                assert api.alive and not load.failures, load.failures[:5]
                time.sleep(0.5)
            during = len(load.clicks) - killed_at
            stack.restart()
            restarted_at = len(load.clicks)
            wait_for(lambda: len(load.clicks) > restarted_at + 200, 30, "no redirects after the restart")
            load.finish()
            assert load.failures == [], load.failures[:5]
            assert during > 100  # the redirect kept answering while Redis was gone (and none failed)
            stored = asyncio.run(all_stored(stack, load.clicks, timeout=90))
            assert len(stored) == len(set(stored)) == len(load.clicks)
            assert api.alive and worker.alive
        assert "Traceback" not in api.output() + worker.output()
