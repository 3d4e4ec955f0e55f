"""`make run` is `loupe dev`: everything starts, the demo key works, Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from loupe.kit.embedded import EmbeddedServers, free_port


def test_dev_serves_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "dev"
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOUPE_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loupe",
            "dev",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**env, "LOUPE_LOG_LEVEL": "WARNING"},
    )
    try:
        key = None
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while key is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "loupe dev exited early"
            if match := re.search(r"Demo API key : (lp_\S+)", line):
                key = match.group(1)
        assert key, "no demo key printed"
        base = f"http://127.0.0.1:{port}"
        reports = httpx.get(f"{base}/v1/reports", headers={"Authorization": f"Bearer {key}"})
        assert reports.status_code == 200 and len(reports.json()["data"]) == 2
        assert httpx.get(f"{base}/docs").status_code == 200
        assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": "ok", "redis": "ok"}
        accounts = httpx.get(f"http://127.0.0.1:{sandbox_port}/_sandbox/accounts").json()
        assert set(accounts) == {"instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"}
        # The worker reports healthy (the same probe docker-compose uses).
        check = [sys.executable, "-m", "loupe", "worker", "--check", "--data-dir", str(data_dir)]
        healthy = False
        for _ in range(30):
            healthy = subprocess.run(check, capture_output=True, env=env, timeout=60).returncode == 0
            if healthy:
                break
            time.sleep(0.5)
        assert healthy, "the worker never reported healthy"
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        proc.wait(timeout=60)
    left = EmbeddedServers(data_dir)
    assert left.postgres.running_port() is None and left.redis.running_port() is None
    for p in (port, sandbox_port):
        try:
            httpx.get(f"http://127.0.0.1:{p}/", timeout=1)
            raise AssertionError(f"something still answers on port {p}")
        except httpx.ConnectError:
            pass
