"""The app in-process (ASGI) with its connectors talking over real HTTP to a live platform sandbox.

The sandbox authorize pages redirect to `http://loupe.test/connect/callback/...`, which `Creator` follows
in-process: the same path a browser takes, without one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from loupe.config import Settings
from loupe.kit.clock import Clock
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from tests.conftest import Tenant
from tests.live import LiveSandbox, live_sandbox

BASE = "http://loupe.test"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[LiveSandbox]:
    with live_sandbox(BASE) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: LiveSandbox) -> Iterator[Sandbox]:
    """The live sandbox's state, with its tokens and faults forgotten after each test."""
    state = sandbox_server.state
    yield state
    state.faults.faults.clear()


@pytest.fixture
def connect_settings(settings: Settings, sandbox_server: LiveSandbox) -> Settings:
    return settings.model_copy(update={"sandbox_url": sandbox_server.url, "public_base_url": BASE})


@pytest.fixture
def connect_ctx(connect_settings: Settings, db: ProcessContext) -> ProcessContext:
    """The process context with the sandbox's settings and a clock of its own (tests move it)."""
    return dataclasses.replace(db, settings=connect_settings, clock=Clock())


@pytest.fixture
def app(connect_settings: Settings, connect_ctx: ProcessContext) -> Any:
    from loupe.app import create_app

    return create_app(connect_settings, context=connect_ctx)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield client


@dataclass
class Trip:
    """Where a connect attempt ended: the final response of our app, and the history of locations."""

    response: httpx.Response
    platform_url: str | None = None


class Creator:
    """A creator's browser: our pages in-process (with its own cookie jar), the sandbox over HTTP."""

    def __init__(self, app: Any, sandbox_url: str) -> None:
        self.ours = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        self.sandbox_url = sandbox_url

    async def aclose(self) -> None:
        await self.ours.aclose()

    async def start(self, token: str, platform: str) -> httpx.Response:
        return await self.ours.post(f"/connect/{token}/start/{platform}")

    async def consent(
        self, authorize_url: str, account: str, *, decision: str = "approve", form: dict[str, Any] | None = None
    ) -> str:
        """Submit the platform's authorize form; returns our callback URL it redirects to."""
        async with httpx.AsyncClient() as platform:
            page = await platform.get(authorize_url)
            assert page.status_code == 200, page.text
            answer = await platform.post(authorize_url, data={"account": account, "decision": decision, **(form or {})})
        assert answer.status_code in (302, 303), answer.text
        location = answer.headers["location"]
        assert location.startswith(f"{BASE}/connect/callback/"), location
        return location

    async def follow(self, location: str) -> httpx.Response:
        parts = urlsplit(location)
        return await self.ours.get(f"{parts.path}?{parts.query}")

    async def connect(
        self, token: str, platform: str, account: str, *, decision: str = "approve", form: dict[str, Any] | None = None
    ) -> httpx.Response:
        started = await self.start(token, platform)
        assert started.status_code == 303, started.text
        callback = await self.consent(started.headers["location"], account, decision=decision, form=form)
        return await self.follow(callback)


@pytest.fixture
async def creator(app: Any, sandbox_server: LiveSandbox) -> AsyncIterator[Creator]:
    browser = Creator(app, sandbox_server.url)
    yield browser
    await browser.aclose()


@pytest.fixture
def new_creator(app: Any, sandbox_server: LiveSandbox) -> Any:
    """Another browser (no creator-session cookie)."""
    made: list[Creator] = []

    def make() -> Creator:
        made.append(Creator(app, sandbox_server.url))
        return made[-1]

    yield make


async def invite(
    client: httpx.AsyncClient, tenant: Tenant, email: str = "ada@example.com", name: str = "Ada"
) -> dict[str, Any]:
    response = await client.post("/v1/invites", json={"name": name, "email": email}, headers=tenant.write)
    assert response.status_code == 201, response.text
    body = response.json()
    body["token"] = body["link"].rsplit("/", 1)[1]
    return body  # type: ignore[no-any-return]


def account(sandbox: Sandbox, platform: str, creator: int = 0, n: int = 0) -> Any:
    """The n-th `platform` account of sandbox creator `creator` (0-based index of creator-01…)."""
    return sandbox.world.creators[creator].accounts[platform][n]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
