"""The sandbox ASGI app: every emulated host mounted under a path prefix named after the real host."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from . import admin
from .clock import Clock
from .platforms import meta, tiktok, twitch, x, youtube, youtube_analytics
from .state import Sandbox
from .world import World


async def not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {
            "error": "not_found",
            "path": request.url.path,
            "hint": "paths are /<real host>/<real path>; see GET /_sandbox/",
        },
        status_code=404,
    )


def create_app(
    seed: int = 42,
    clock: Clock | None = None,
    faults: object = None,
    credentials: Mapping[str, object] | None = None,
    callback_base: str | None = None,
    world_size: int | None = None,
) -> Starlette:
    """Build the sandbox. `faults`: a FaultBoard or dicts like {"platform","fault","account"?}.

    `credentials`: {platform: {"client_id", "client_secret"}} (secret "" or None makes a public client).
    `callback_base`: the api's URL; the apps' removal callbacks default to its /webhooks/... receivers.
    `world_size`: how many creators the world has (default 12; beyond 12 the layouts come round again).
    The shared state is at `app.state.sandbox` (tests may poke the world, clock and tokens directly).
    """
    sandbox = Sandbox(seed=seed, clock=clock, faults=faults, credentials=credentials, callback_base=callback_base)
    if world_size is not None and world_size != sandbox.world.size:
        sandbox.world = World(seed, anchor=sandbox.world.anchor, size=world_size)
    routes: list[BaseRoute] = [
        Route("/", lambda request: RedirectResponse("/_sandbox/")),
        Mount("/_sandbox", routes=admin.routes()),
    ]
    for module in (meta, tiktok, youtube, youtube_analytics, x, twitch):
        routes.extend(module.routes())
    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.sandbox = sandbox
    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8100,
    seed: int = 42,
    callback_base: str | None = None,
    world_size: int | None = None,
) -> None:
    """Run the sandbox with uvicorn until interrupted."""
    import uvicorn

    app = create_app(seed=seed, callback_base=callback_base, world_size=world_size)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
