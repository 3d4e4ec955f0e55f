"""Pure ASGI middleware: request ids, body size limit, Prometheus metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loupe.config import Settings
from loupe.kit.errors import problem_response
from loupe.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

REQUEST_ID_HEADER = "x-request-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
log = structlog.get_logger("loupe.http")
SECRET_PATHS = ("/connect/",)
F = TypeVar("F", bound=Callable[..., Any])


class RequestContextMiddleware:
    """Assigns (or accepts) a request id, echoes it, binds it to logs, and records metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                extra = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
                # Headers a dependency decided for every answer, errors included (the rate limit's).
                names = {name.lower() for name, _ in message["headers"]}
                for name, value in scope.get("state", {}).get("response_headers", {}).items():
                    if name.lower().encode() not in names:
                        extra.append((name.lower().encode(), value.encode()))
                message["headers"] = [*message["headers"], *extra]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = _route_label(scope)
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(scope["method"], path).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                # Public pages carry their credential in the path (invite and choice tokens): log the template.
                path=path if scope["path"].startswith(SECRET_PATHS) else scope["path"],
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


def _route_label(scope: Scope) -> str:
    """The route template (`/v1/reports/{report_id}`), keeping metric labels few; unmatched paths share one."""
    if scope.get("route") is None:
        return "unmatched"
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


FORM_OVERHEAD = 65_536  # room for a multipart body's other fields and boundaries beside its file


def body_limit(max_bytes: Callable[[Settings], int]) -> Callable[[F], F]:
    """Marks an upload route with its own body limit (from the settings), above the JSON one. Put it
    under the route decorator; every other route gets `max_body_bytes`, multipart or not."""

    def mark(endpoint: F) -> F:
        endpoint.__body_limit__ = max_bytes  # type: ignore[attr-defined]
        return endpoint

    return mark


def route_body_limits(routes: Sequence[Any], settings: Settings) -> list[tuple[str, re.Pattern[str], int]]:
    """(method, path pattern, limit) of the routes marked with `body_limit` (`kit.openapi.operations`)."""
    return [
        (method, route.path_regex, route.endpoint.__body_limit__(settings))
        for route in routes
        if hasattr(getattr(route, "endpoint", None), "__body_limit__")
        for method in route.methods
    ]


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413, by declared length or while streaming.

    Each route's limit is `max_bytes`, or its own if marked with `body_limit` (uploads). Past
    `anonymous_bytes`, the request must present a valid credential (`verify`, asked once, only then): a
    client without one never makes us buffer more than that, whatever the route.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        anonymous_bytes: int,
        route_limits: Sequence[tuple[str, re.Pattern[str], int]] = (),
        verify: Callable[[Scope], Awaitable[bool]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.anonymous_bytes = min(anonymous_bytes, max_bytes)
        self.route_limits = route_limits
        self.verify = verify

    def _route_limit(self, scope: Scope) -> int:
        for method, pattern, limit in self.route_limits:
            if scope["method"] == method and pattern.match(scope["path"]):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._route_limit(scope)
        verified: bool | None = None

        async def exceeded(size: int) -> tuple[int, str] | None:
            nonlocal verified
            if size > limit:
                return limit, f"The request body exceeds {limit} bytes."
            if size > self.anonymous_bytes and self.verify is not None:
                if verified is None:
                    verified = await self.verify(scope)
                if not verified:
                    return self.anonymous_bytes, (
                        f"A request without valid credentials may send at most {self.anonymous_bytes} bytes."
                    )
            return None

        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and (refusal := await exceeded(int(declared))):
            await self._reject(scope, receive, send, refusal[1])
            return
        received = 0
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if refusal := await exceeded(received):
                    # Answer 413 ourselves and tell the app the client went away, so it stops reading.
                    rejected = True
                    await self._reject(scope, receive, send, refusal[1])
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        response = problem_response(
            413, "Payload Too Large", slug="payload-too-large", instance=scope["path"], detail=detail
        )
        await response(scope, receive, send)
