"""Meta hosts: www.facebook.com, graph.facebook.com, www/api/graph.instagram.com and the media CDN."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..common import sandbox_of
from ..oauth import authorize_endpoint
from .meta_graph import graph_endpoint
from .meta_nodes import CDN
from .meta_oauth import FACEBOOK_DIALOG, INSTAGRAM_DIALOG, ig_code_exchange

# a 1x1 GIF stands in for every image and video: connectors only need bytes to store
PIXEL = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")


async def cdn(request: Request) -> Response:
    expiry = request.query_params.get("oe", "")
    try:
        expired = int(expiry, 16) <= sandbox_of(request).now()
    except ValueError:
        expired = True
    if expired:
        return PlainTextResponse("URL signature expired", status_code=403)
    return Response(PIXEL, media_type="image/gif")


def routes() -> list[BaseRoute]:
    both = ["GET", "POST"]
    fb_dialog = authorize_endpoint(FACEBOOK_DIALOG)
    return [
        Mount(
            "/www.facebook.com",
            routes=[
                Route("/dialog/oauth", fb_dialog, methods=both),
                Route("/{version}/dialog/oauth", fb_dialog, methods=both),
            ],
        ),
        Mount(
            "/www.instagram.com", routes=[Route("/oauth/authorize", authorize_endpoint(INSTAGRAM_DIALOG), methods=both)]
        ),
        Mount("/api.instagram.com", routes=[Route("/oauth/access_token", ig_code_exchange, methods=["POST"])]),
        Mount(
            "/graph.facebook.com",
            routes=[Route("/{path:path}", graph_endpoint("fb"), methods=["GET", "POST", "DELETE"])],
        ),
        Mount("/graph.instagram.com", routes=[Route("/{path:path}", graph_endpoint("ig"), methods=both)]),
        Mount(f"/{CDN}", routes=[Route("/{path:path}", cdn)]),
    ]
