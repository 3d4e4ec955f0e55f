"""Building the redirect: on its own (`loupe redirect`), or mounted into the api at `/l`."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import ConnectionPool, Redis

from loupe.clicks.pg import asyncpg_dsn
from loupe.config import Settings
from loupe.redirect.app import RedirectApp
from loupe.redirect.state import RedirectState

_TIMEOUTS = ("socket_timeout", "socket_connect_timeout", "retry_on_timeout", "retry")


def _redis(settings: Settings, like: ConnectionPool) -> Redis:
    """A client to the same server as `like`, with every call bounded: a hung Redis costs a request
    at most `click_redis_timeout_ms` (then the click goes to the spool)."""
    timeout = settings.click_redis_timeout_ms / 1000
    kwargs = {k: v for k, v in like.connection_kwargs.items() if k not in _TIMEOUTS}
    pool = ConnectionPool(
        connection_class=like.connection_class,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
        **kwargs,
    )
    return Redis(connection_pool=pool)


def create_redirect_app(settings: Settings, database_url: str, redis_url: str) -> RedirectApp:
    """The standalone app: opens its resources in the ASGI lifespan."""

    async def opener() -> RedirectState:
        redis = _redis(settings, ConnectionPool.from_url(redis_url))
        state = await RedirectState.open(settings, asyncpg_dsn(database_url), redis)
        gc.freeze()  # what exists now lives as long as the process: keep it out of every collection
        return state

    return RedirectApp(settings, opener)


_DATABASE_URL, _REDIS_URL = "LOUPE_REDIRECT_DATABASE_URL", "LOUPE_REDIRECT_REDIS_URL"


def serve_with_granian(host: str, port: int, database_url: str, redis_url: str) -> None:
    """`loupe redirect` under granian: one worker process, which builds the app (`standalone_app`) from the
    URLs this process resolved. Granian takes the client address from the TCP peer, never from a header;
    its own log lines go through ours."""
    from granian import Granian
    from granian.constants import Interfaces

    os.environ[_DATABASE_URL], os.environ[_REDIS_URL] = database_url, redis_url
    ours = {"handlers": {}, "loggers": {name: {"handlers": [], "propagate": True} for name in ("_granian", "granian")}}
    Granian(
        "loupe.redirect.factory:standalone_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        websockets=False,
        log_dictconfig=ours,
        log_access=False,
    ).serve()


def standalone_app() -> RedirectApp:
    """The app of `serve_with_granian`, built in granian's worker process."""
    from loupe.config import get_settings
    from loupe.kit.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json, settings.log_colors)
    return create_redirect_app(settings, os.environ[_DATABASE_URL], os.environ[_REDIS_URL])


class RedirectFirst:
    """Outermost middleware of the api: `/l/…` goes straight to the redirect, ahead of the api's
    middleware (request logs, metrics, body limits) and its router, which the hot path doesn't need."""

    def __init__(self, app: Any, redirect: RedirectApp) -> None:
        self.app = app
        self.redirect = redirect

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/l/"):
            await self.redirect(scope, receive, send)
            return
        await self.app(scope, receive, send)


def mount_redirect(app: Any, settings: Settings) -> RedirectApp:
    """Serve `/l/{code}` from the api process too, out of the OpenAPI contract. Resources open on the
    first redirect (from the api's process context) and close with the api's lifespan. Add
    `RedirectFirst` as the api's last (outermost) middleware to route `/l/…` to it."""

    async def opener() -> RedirectState:
        ctx = app.state.ctx
        redis = _redis(settings, ctx.arq.connection_pool)
        dsn = asyncpg_dsn(ctx.engine.url.render_as_string(hide_password=False))
        return await RedirectState.open(settings, dsn, redis)

    redirect = RedirectApp(settings, opener)
    app.state.redirect = redirect
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with inner(asgi_app) as maybe_state:
            try:
                yield maybe_state
            finally:
                await redirect.close()

    app.router.lifespan_context = lifespan
    return redirect
