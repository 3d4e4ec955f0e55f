"""Real servers over real HTTP, each in a background thread on a free loopback port (uvicorn).

- `live_sandbox(callback_base)`: the platform sandbox (`loupe.sandbox.create_app(seed=42)`).
- `live_api(settings, sandbox_url=...)`: the api (`loupe.app.create_app(settings)`) with its own lifespan: it
  builds its own ProcessContext in its thread's event loop from `settings.database_url` / `redis_url` (the
  test session's embedded PostgreSQL and Redis), shares nothing with the test's `process`/`db`.
- `live_stack(settings)` and the `live_stack` pytest fixture: both, each knowing the other's URL (both
  ports are bound before either server starts, and the servers are handed those very sockets: no race).

The sandbox's state (`LiveSandbox.state`, `LiveStack.state`) is the server's own object: tests may poke
it between requests (it is not locked against the server thread).
Import the fixture where it is needed: `from tests.live import live_stack  # noqa: F401`.
"""

from __future__ import annotations

import inspect
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import pytest
import uvicorn

from loupe.config import Settings
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox

START_TIMEOUT_S = 15.0


def listener() -> socket.socket:
    """A TCP socket bound to a free loopback port (and listening), to hand to `serve`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve(app: Any, sock: socket.socket, *, lifespan: Literal["on", "off"] = "off", name: str = "app") -> Iterator[str]:
    """Serve `app` on `sock` in a daemon thread until the block ends; yields the base URL.

    Returns once the server accepts requests (with lifespan "on": after the app's startup). The socket is
    closed on exit. Logging is left as the app configured it (no uvicorn log config)."""
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"live-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"live {name} server did not start (its error is logged above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"live {name} server did not start within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.005)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class LiveSandbox:
    url: str
    app: Any

    @property
    def state(self) -> Sandbox:
        return self.app.state.sandbox  # type: ignore[no-any-return]


@dataclass
class LiveApi:
    url: str
    app: Any
    settings: Settings

    @property
    def ctx(self) -> ProcessContext:
        """The api's own process context (built by its lifespan, in the server thread's loop)."""
        return self.app.state.ctx  # type: ignore[no-any-return]


def sandbox_app(seed: int = 42, callback_base: str | None = None) -> Any:
    """`loupe.sandbox.create_app(seed=…)`, with `callback_base=` when given and when create_app takes it."""
    from loupe.sandbox import create_app

    kwargs: dict[str, Any] = {}
    if callback_base is not None and "callback_base" in inspect.signature(create_app).parameters:
        kwargs["callback_base"] = callback_base
    return create_app(seed=seed, **kwargs)


@contextmanager
def live_sandbox(
    callback_base: str | None = None, *, seed: int = 42, sock: socket.socket | None = None
) -> Iterator[LiveSandbox]:
    """The platform sandbox over real HTTP. `callback_base`: where the sandbox calls Loupe back (the api's URL)."""
    sock = sock or listener()
    app = sandbox_app(seed, callback_base)
    with serve(app, sock, name="sandbox") as url:
        yield LiveSandbox(url, app)


@contextmanager
def live_api(
    settings: Settings, *, sandbox_url: str | None = None, sock: socket.socket | None = None
) -> Iterator[LiveApi]:
    """The api over real HTTP, with its own lifespan and process context. `settings` (the session's) is copied
    with `public_base_url` = the live URL and, when given, `sandbox_url`."""
    from loupe.app import create_app

    sock = sock or listener()
    update: dict[str, Any] = {"public_base_url": url_of(sock)}
    if sandbox_url is not None:
        update["sandbox_url"] = sandbox_url
    live_settings = settings.model_copy(update=update)
    app = create_app(live_settings)
    with serve(app, sock, lifespan="on", name="api") as url:
        yield LiveApi(url, app, live_settings)


@dataclass
class LiveStack:
    api: str  # the api's base URL
    sandbox: str  # the sandbox's base URL
    state: Sandbox  # the live sandbox's state (app.state.sandbox)
    api_server: LiveApi
    sandbox_server: LiveSandbox

    @property
    def settings(self) -> Settings:
        """The live api's settings (public_base_url and sandbox_url point at the live servers)."""
        return self.api_server.settings


@contextmanager
def live_stack_of(settings: Settings, *, seed: int = 42) -> Iterator[LiveStack]:
    """The sandbox and the api, each pointed at the other. Both ports are taken before either starts."""
    api_sock, sandbox_sock = listener(), listener()
    with ExitStack() as stack:
        stack.callback(api_sock.close)  # if the sandbox fails to start, the api's socket is not leaked
        sandbox = stack.enter_context(live_sandbox(url_of(api_sock), seed=seed, sock=sandbox_sock))
        api = stack.enter_context(live_api(settings, sandbox_url=sandbox.url, sock=api_sock))
        yield LiveStack(api.url, sandbox.url, sandbox.state, api, sandbox)


@pytest.fixture
def live_stack(settings: Settings, db: ProcessContext) -> Iterator[LiveStack]:
    """Per test (after `db` emptied the tables and Redis): a fresh sandbox world and a fresh api process
    context, so no cache or token outlives the test."""
    with live_stack_of(settings) as stack:
        yield stack
