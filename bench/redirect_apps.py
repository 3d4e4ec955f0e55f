"""The three apps the redirect benchmark serves, importable by uvicorn and granian (`redirect_apps:NAME`).

`raw`: a bare ASGI callable answering the same 302 and headers as ours (no framework, no work): the
ceiling of the server. `starlette`: the same answer through Starlette's routing. `ours`: the real
loupe.redirect standalone app (link cache, click id, group commit to the Redis stream).
The Location comes from BENCH_LOCATION, so all three send headers of the same size.
"""

from __future__ import annotations

import os
from typing import Any

LOCATION = os.environ.get("BENCH_LOCATION", "https://shop.example/spring?ref=abc").encode("latin-1")
HEADERS = [
    (b"location", LOCATION),
    (b"cache-control", b"no-store"),
    (b"x-robots-tag", b"noindex"),
    (b"content-length", b"0"),
]
START = {"type": "http.response.start", "status": 302, "headers": HEADERS}
BODY = {"type": "http.response.body", "body": b""}


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send(START)
        await send(BODY)
    elif scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def redirect(request: Any) -> Response:
        return Response(status_code=302, headers={k.decode(): v.decode("latin-1") for k, v in HEADERS[:3]})

    return Starlette(routes=[Route("/l/{code}", redirect, methods=["GET", "HEAD"])])


def _ours() -> Any:
    from loupe.config import Settings
    from loupe.redirect.factory import create_redirect_app

    return create_redirect_app(Settings(), os.environ["LOUPE_DATABASE_URL"], os.environ["LOUPE_REDIS_URL"])


def __getattr__(name: str) -> Any:  # built on first import by name: `raw` needs no loupe, no database
    if name == "starlette":
        return _starlette()
    if name == "ours":
        return _ours()
    raise AttributeError(name)
