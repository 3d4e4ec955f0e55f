"""The api through a real `loupe serve` (uvicorn) process while PostgreSQL, then Redis, go away: the
redirect keeps answering from its cache, `/v1` answers 503 problems (never a 500 with a trace),
`/readyz` names what is down, and everything recovers by itself. Every acknowledged click is stored once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from loupe.kit.embedded import free_port
from tests.outages.support import (
    Process,
    Stack,
    all_stored,
    click_id,
    private_stack,
    serve_api,
    wait_for,
)


def _redirects(client: httpx.Client, stack: Stack, seconds: float) -> list[str]:
    ids, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        ids.append(click_id(client.get(f"/l/{stack.code}")))
    return ids


def _status(client: httpx.Client, path: str, key: str) -> int:
    return client.get(path, headers={"Authorization": f"Bearer {key}"}).status_code


def test_the_api_serves_through_postgresql_and_redis_outages(tmp_path: Path) -> None:
    with private_stack(tmp_path) as stack:
        port = free_port()
        auth = {"Authorization": f"Bearer {stack.api_key}"}
        with (
            serve_api(stack, tmp_path, port) as api,
            Process(["worker"], stack.env(), tmp_path / "worker.log"),
        ):
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                assert client.get("/v1/reports", headers=auth).status_code == 200
                sent = _redirects(client, stack, 1)  # the link is cached now

                stack.stop_postgres()
                problem = client.get("/v1/reports", headers=auth)
                assert problem.status_code == 503, problem.text
                assert problem.headers["content-type"] == "application/problem+json"
                assert problem.headers["retry-after"] == "5"
                assert problem.json()["type"].endswith("/service-unavailable")
                assert "PostgreSQL" in problem.json()["detail"]
                ready = client.get("/readyz")
                assert ready.status_code == 503
                assert ready.json()["checks"]["database"].startswith("unavailable")
                assert ready.json()["checks"]["redis"] == "ok"
                sent += _redirects(client, stack, 3)  # cached link, click into the Redis stream
                stack.restart()
                wait_for(lambda: _status(client, "/v1/reports", stack.api_key) == 200, 15, "/v1 did not recover")
                assert client.get("/readyz").status_code == 200

                stack.kill_redis()
                sent += _redirects(client, stack, 3)  # the clicks go to the spool
                ready = client.get("/readyz")
                assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"
                assert ready.json()["checks"]["redis"].startswith("unavailable")
                made = client.post("/v1/reports", headers=auth, json={"name": "Made while Redis is down"})
                assert made.status_code == 201, made.text  # needs no job: PostgreSQL is enough
                stack.restart()
                sent += _redirects(client, stack, 1)
                wait_for(lambda: client.get("/readyz").status_code == 200, 15, "/readyz did not recover")

            stored = asyncio.run(all_stored(stack, sent))
            assert len(stored) == len(set(stored)) == len(sent)  # every acknowledged click once
        log = api.output()
        assert "Traceback" not in log and "unhandled_error" not in log, log[-3000:]
        assert "dependency_unavailable" in log  # the 503s are logged, in one line each
