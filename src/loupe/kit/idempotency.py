"""`Idempotency-Key` on the POSTs that create something (IETF draft "The Idempotency-Key HTTP Header").

A client that did not get an answer (timeout, dropped connection) sends the same POST again with the same
key and gets the first answer, not a second resource. Per credential (a hash of the bearer credential or
session cookie, so two keys never share an entry), for 24 hours:

- same key, same method, path and body: the stored answer (status, body, content type, `Location`),
  with `Idempotent-Replayed: true`;
- same key, another body or route: 422; same key while the first request still runs: 409.

Entries live in Redis: they expire by themselves, every api process sees them, and `SET NX` makes the
claim atomic. A claim lasts `RUNNING_SECONDS` until the answer replaces it, so a process that dies
mid-request does not block the key for a day. Answers of 5xx are not kept (retrying them is the point),
nor are those of requests the credential check refused (401, 403). While Redis is down, a request with
the header answers 503: without the store the promise cannot be kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import structlog
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loupe.kit.errors import problem_response

log = structlog.get_logger(__name__)

HEADER = b"idempotency-key"
KEEP_SECONDS = 24 * 3600
RUNNING_SECONDS = 120
_REPLAYED_HEADERS = (b"content-type", b"location")
_NOT_KEPT = {401, 403}


def applies(scope: Scope) -> bool:
    path: str = scope["path"]
    return scope["method"] == "POST" and path.startswith("/v1/") and not path.startswith("/v1/auth/")


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not applies(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255 or not key.isascii() or not key.decode().isprintable():
            detail = "`Idempotency-Key` must be 1 to 255 printable ASCII characters."
            await _problem(scope, receive, send, 422, detail, slug="idempotency-key-invalid")
            return
        body, more = await _read_body(receive)
        credential = headers.get(b"authorization", b"") or headers.get(b"cookie", b"")
        entry = "loupe:idempotency:" + hashlib.sha256(credential + b"\0" + key).hexdigest()
        fingerprint = hashlib.sha256(scope["path"].encode() + b"\0" + body).hexdigest()
        redis = scope["app"].state.ctx.arq
        claim = orjson.dumps({"state": "running", "fingerprint": fingerprint})
        try:
            claimed = await redis.set(entry, claim, nx=True, ex=RUNNING_SECONDS)
            stored = None if claimed else await redis.get(entry)
        except RedisError as exc:
            log.warning("idempotency_store_unreachable", error=type(exc).__name__)
            await _problem(
                scope, receive, send, 503, "Idempotency keys cannot be checked right now.", {"Retry-After": "5"}
            )
            return
        if not claimed:
            await self._answer_again(scope, receive, send, stored, fingerprint)
            return
        answer: dict[str, Any] = {"body": b""}

        async def replay_body() -> Message:
            nonlocal more
            if more is not None:
                message, more = more, None
                return message
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")] for k, v in message["headers"] if k in _REPLAYED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await self._keep(redis, entry, fingerprint, answer)

    async def _keep(self, redis: Any, entry: str, fingerprint: str, answer: dict[str, Any]) -> None:
        status = answer.get("status", 500)
        try:
            if status >= 500 or status in _NOT_KEPT:
                await redis.delete(entry)
                return
            kept = {
                "state": "done",
                "fingerprint": fingerprint,
                "status": status,
                "headers": answer["headers"],
                "body": answer["body"].decode("utf-8", "replace"),
            }
            await redis.set(entry, orjson.dumps(kept), ex=KEEP_SECONDS)
        except RedisError as exc:  # the answer went out; a retry will run again (as without the header)
            log.warning("idempotency_answer_not_kept", error=type(exc).__name__)

    async def _answer_again(
        self, scope: Scope, receive: Receive, send: Send, stored: bytes | None, fingerprint: str
    ) -> None:
        if stored is None:  # expired between our two calls: rare, and safe to ask again
            await _problem(scope, receive, send, 409, "This idempotency key was just released; send it again.")
            return
        first = orjson.loads(stored)
        if first["fingerprint"] != fingerprint:
            await _problem(
                scope, receive, send, 422, "This idempotency key was used with another request (route or body)."
            )
            return
        if first["state"] == "running":
            await _problem(scope, receive, send, 409, "A request with this idempotency key is still in progress.")
            return
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in first["headers"]]
        body = first["body"].encode()
        headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": first["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body (already bounded by the body size middleware), and the message to hand the app."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            return body, {"type": "http.request", "body": body, "more_body": False}


async def _problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    slug: str | None = None,
) -> None:
    titles = {409: "Conflict", 422: "Unprocessable Content", 503: "Service Unavailable"}
    slug = slug or {409: "idempotency-key-in-use", 422: "idempotency-key-reused", 503: "unavailable"}[status]
    response = problem_response(
        status, titles[status], slug=slug, detail=detail, instance=scope["path"], headers=headers
    )
    await response(scope, receive, send)
