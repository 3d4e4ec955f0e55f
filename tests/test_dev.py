"""`make run` is `loupe dev`: everything starts, the banner stays on screen while idle, the demo key works,
Ctrl-C leaves nothing behind."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import httpx

from loupe.kit.embedded import EmbeddedServers, free_port
from tests.outages.support import mail_port, stop_dev


def _read_lines(stream: IO[str]) -> queue.Queue[str | None]:
    """Lines of `stream` as they come (None at the end), so that the test can wait with timeouts."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _lines_within(lines: queue.Queue[str | None], seconds: float) -> list[str]:
    got, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        got.append(line)
    return got


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
            "--mail-port",
            str(mail_port()),
            "--no-demo",  # the demo's connections are refreshed right after the banner (tests/test_seed.py)
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,  # the default log level, INFO
        # As a shell without job control starts `loupe dev &`: Ctrl-C (below) must stop it all the same.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.stdout is not None
    lines = _read_lines(proc.stdout)
    before_banner: list[str] = []
    try:
        key, person = None, None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "loupe dev exited early"
            before_banner.append(line)
            if match := re.search(r"Demo API key : (lp_\S+)", line):
                key = match.group(1)
            if match := re.search(r"Demo person  : (\S+) / (\S+) ", line):
                person = {"email": match.group(1), "password": match.group(2)}
            if line.startswith("Press Ctrl-C to stop."):
                break
        assert key, "no demo key printed"
        assert person, "no demo person printed"
        # Each child's lines carry its name; none is JSON.
        for prefix in ("api    | ", "worker | ", "sandbox| "):
            assert any(line.startswith(prefix) for line in before_banner), prefix
        assert not any(line[9:].startswith("{") for line in before_banner)

        # Idle, nothing follows the banner: no cron runs, no health records.
        idle = _lines_within(lines, 10)
        assert not [line for line in idle if line.strip()], idle
        # SIGUSR1: every thread's stack on its output, and it runs on.
        proc.send_signal(signal.SIGUSR1)
        stacks = _lines_within(lines, 2)
        assert any(line.startswith("Current thread 0x") for line in stacks), stacks
        assert proc.poll() is None

        base = f"http://127.0.0.1:{port}"
        reports = httpx.get(f"{base}/v1/reports", headers={"Authorization": f"Bearer {key}"})
        assert reports.status_code == 200 and len(reports.json()["data"]) == 2
        access = [line for line in _lines_within(lines, 5) if "/v1/reports" in line]
        assert access and access[0].startswith("api    | ") and "GET" in access[0] and "status=200" in access[0]

        assert httpx.get(f"{base}/docs").status_code == 200
        # The demo person signs in (as /docs' "Try it out" does) and reads the demo brand as its owner.
        login = httpx.post(f"{base}/v1/auth/login", json=person)
        assert login.status_code == 200, login.text
        owned = httpx.get(f"{base}/v1/reports", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        assert owned.status_code == 200 and len(owned.json()["data"]) == 2
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
        stop_dev(proc, lambda: _lines_within(lines, 2))
    # The children's last words are relayed before `loupe dev` exits.
    rest = _lines_within(lines, 5)
    assert any(line.startswith("api    | ") and "Finished server process" in line for line in rest), rest
    left = EmbeddedServers(data_dir)
    assert left.postgres.running_port() is None and left.redis.running_port() is None
    for p in (port, sandbox_port):
        try:
            httpx.get(f"http://127.0.0.1:{p}/", timeout=1)
            raise AssertionError(f"something still answers on port {p}")
        except httpx.ConnectError:
            pass
