"""Fixtures: a sandbox app on a frozen clock, driven in-process through httpx.ASGITransport, and
`live_server` for the tests that need real HTTP and the wall clock."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn

from loupe.sandbox import Clock, create_app
from loupe.sandbox.state import Sandbox

T0 = 1_790_000_000.0  # a fixed instant: every run sees the same world
REDIRECT = "https://loupe.test/callback"


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=T0)


@pytest.fixture
def app(clock: Clock) -> Any:
    return create_app(seed=42, clock=clock)


@pytest.fixture
def sandbox(app: Any) -> Sandbox:
    return app.state.sandbox  # type: ignore[no-any-return]


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as c:
        yield c


def callback(response: httpx.Response) -> tuple[dict[str, str], str]:
    """Query parameters and raw fragment of an authorize redirect."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    parts = urlsplit(location)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    fragment = location.split("#", 1)[1] if "#" in location else None
    return query, fragment  # type: ignore[return-value]


async def authorize(
    client: httpx.AsyncClient,
    url: str,
    query: dict[str, str],
    account: str,
    decision: str = "approve",
    extra: dict[str, Any] | None = None,
) -> httpx.Response:
    page = await client.get(url, params=query)
    assert page.status_code == 200, page.text
    assert 'name="account"' in page.text or account == ""
    form = {"account": account, "decision": decision, **(extra or {})}
    return await client.post(url, params=query, data=form)


def first(sandbox: Sandbox, platform: str, **flags: Any) -> Any:
    for acct in sandbox.world.accounts[platform].values():
        if all(getattr(acct, k) == v for k, v in flags.items()):
            return acct
    raise AssertionError(f"no {platform} account with {flags}")


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port (as tests/connectors/test_connectors_sandbox.py does)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("sandbox did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


# Modules testing what the sandbox sends out define `received`: (url of a live receiver, what it recorded).
@pytest.fixture
def seen(received: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    received[1].clear()
    return received[1]


@pytest.fixture
def wired(received: tuple[str, list[dict[str, Any]]]) -> Any:
    return create_app(seed=42, clock=Clock(frozen_at=T0), callback_base=received[0])


@pytest.fixture
async def admin(wired: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wired), base_url="http://sandbox") as c:
        yield c
