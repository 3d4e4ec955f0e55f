"""The redirect as a bare ASGI app: no framework routing, no ORM, no per-request database round trip
in the common case (links come from the cache), and the click made durable before the answer.

Answers: 302 to the link's destination (UTM and `lp_click` appended), 410 for an archived link,
404 for an unknown code (recorded as an orphan visit), 503 if an uncached code cannot be looked up
(or the process cannot reach PostgreSQL yet).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from loupe.clicks.events import CLICK, ORPHAN, new_click_id, now_us
from loupe.clicks.metrics import CLICKS_LOST, REDIRECT_302, REDIRECT_404, REDIRECT_410, REDIRECT_429, REDIRECT_503
from loupe.config import Settings
from loupe.kit.addresses import client_ip
from loupe.kit.metrics import public_metrics_allowed, start_metrics_listener
from loupe.redirect import pages
from loupe.redirect.links import MISSING
from loupe.redirect.state import RedirectState

log = structlog.get_logger("loupe.redirect")

CODE = re.compile(r"^[A-Za-z0-9_~.-]{1,128}$")
Opener = Callable[[], Awaitable[RedirectState]]

_COMMON = [(b"cache-control", b"no-store"), (b"x-robots-tag", b"noindex")]
_HTML = [*_COMMON, (b"content-type", b"text/html; charset=utf-8")]
# The 302's headers but its Location, built once: the hot path only puts them in a list after it.
_NO_STORE, _NOINDEX = _COMMON
_NO_LENGTH = (b"content-length", b"0")
_NO_BODY = {"type": "http.response.body", "body": b""}


class RedirectApp:
    def __init__(self, settings: Settings, opener: Opener) -> None:
        self.settings = settings
        self._opener = opener
        self.state: RedirectState | None = None
        self._opening: asyncio.Task[RedirectState] | None = None
        header = settings.trusted_proxy_header
        self._ip_header = header.strip().lower().encode() if header else None
        self._hops = settings.trusted_proxy_hops

    async def open(self) -> RedirectState:
        """The process's resources, opened once. Concurrent callers share one attempt (each of its
        steps is time-bounded), so a PostgreSQL outage costs a request one attempt, not a queue of them."""
        if self.state is not None:
            return self.state
        if self._opening is None:
            self._opening = asyncio.create_task(self._open(), name="redirect-open")
        return await asyncio.shield(self._opening)

    async def _open(self) -> RedirectState:
        try:
            self.state = await self._opener()
            return self.state
        finally:
            self._opening = None

    async def close(self) -> None:
        if self.state is not None:
            state, self.state = self.state, None
            await state.close()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await self._http(scope, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                start_metrics_listener(self.settings)
                try:
                    await self.open()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], send: Any) -> None:
        method = scope["method"]
        path: str = scope["path"]
        if path == "/healthz":
            await _send(send, 200, [(b"content-type", b"text/plain")], b"ok", method)
            return
        if path == "/metrics":  # only reached when running alone: the api serves its own /metrics
            if public_metrics_allowed(self.settings, _header(scope, b"authorization")):
                await _send(send, 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], generate_latest(), method)
            else:
                await _send(send, 404, _COMMON, b"", method)
            return
        if method not in ("GET", "HEAD"):
            await _send(send, 405, [*_COMMON, (b"allow", b"GET, HEAD")], b"", method)
            return
        try:
            state = self.state or await self.open()
        except Exception as exc:  # PostgreSQL (or Redis) unreachable before the first redirect
            log.error("redirect_open_failed", error=type(exc).__name__)
            REDIRECT_503.inc()
            await _send(send, 503, [*_HTML, (b"retry-after", b"5")], pages.UNAVAILABLE, method)
            return
        user_agent = referrer = b""
        forwarded = None
        ip_header = self._ip_header
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referrer = value
            # Not `name == None`: bytes compared with None takes the slow path, for every other header.
            elif ip_header is not None and name == ip_header:
                forwarded = value
        code = path.rpartition("/")[2]
        ip = client_ip(scope, forwarded, self._hops)
        link = None
        cached = state.links.fresh(code)  # only a code that matched CODE is ever cached: no match on a hit
        if cached is MISSING and not CODE.match(code):
            cached = None
        # No cached link: limited per address (redirect/misses.py).
        if (cached is None or cached is MISSING) and not state.misses.allows(ip):
            REDIRECT_429.inc()
            await _send(send, 429, [*_HTML, (b"retry-after", b"1")], pages.TOO_MANY, method)
            return
        if cached is not MISSING:
            link = cached
        else:
            try:
                link = await state.links.get(code, state.miss_pool if state.misses.suspect(ip) else None)
            except Exception as exc:
                log.error("link_lookup_failed", error=type(exc).__name__)
                REDIRECT_503.inc()
                await _send(send, 503, [*_HTML, (b"retry-after", b"5")], pages.UNAVAILABLE, method)
                return
        if link is not None and link.archived:
            REDIRECT_410.inc()
            await _send(send, 410, _HTML, pages.GONE, method)
            return
        # The click as it goes on the wire (RawClick.wire's order), built here: a RawClick first cost more.
        click_id = new_click_id()
        item = [
            click_id,
            now_us(),
            CLICK if link else ORPHAN,
            code[:128],
            link.id if link else None,
            link.workspace_id if link else None,
            ip,
            user_agent.decode("latin-1")[:1024],
            referrer.decode("latin-1")[:2048] if referrer else "",  # none sent: nothing to decode
            1 if method == "HEAD" else 0,
        ]
        try:
            await state.buffer.record_item(item)  # bounded by the buffer's deadline
        except Exception as exc:  # Redis and the spool both failed (or hang): still answer the visitor
            log.error("click_not_recorded", click_id=click_id, error=type(exc).__name__)
            CLICKS_LOST.inc()
        if link is None:
            state.misses.missed(ip)
            REDIRECT_404.inc()
            await _send(send, 404, _HTML, pages.NOT_FOUND, method)
            return
        REDIRECT_302.inc()
        location = link.location(click_id).encode("latin-1")
        headers = [(b"location", location), _NO_STORE, _NOINDEX, _NO_LENGTH]
        await send({"type": "http.response.start", "status": 302, "headers": headers})
        await send(_NO_BODY)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


async def _send(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes, method: str) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
