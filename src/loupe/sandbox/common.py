"""HTTP helpers shared by the emulated platforms."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .state import Sandbox


def sandbox_of(request: Request) -> Sandbox:
    return request.app.state.sandbox  # type: ignore[no-any-return]


def json(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None, media_type: str = "application/json"
) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=dict(headers or {}), media_type=media_type)


async def params(request: Request) -> dict[str, str]:
    """Query parameters merged with a form body (token endpoints accept either)."""
    out = dict(request.query_params)
    if request.method == "POST":
        ctype = request.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in ctype or "multipart/form-data" in ctype:
            form = await request.form()
            out.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif "application/json" in ctype:
            try:
                body = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                body = {}
            if isinstance(body, dict):
                out.update({k: str(v) for k, v in body.items()})
    return out


async def json_body(request: Request) -> dict[str, Any] | None:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def auth_token(request: Request, *schemes: str) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in {s.lower() for s in schemes} and value.strip():
        return value.strip()
    return None


def basic_auth(request: Request) -> tuple[str, str] | None:
    value = auth_token(request, "Basic")
    if not value:
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def redirect(uri: str, query: Mapping[str, str], fragment: str | None = None) -> Response:
    sep = "&" if "?" in uri else "?"
    url = f"{uri}{sep}{urlencode(query)}" + (f"#{fragment}" if fragment is not None else "")
    return RedirectResponse(url, status_code=302)


def with_query(request: Request, **changes: str | None) -> str:
    """The request's own URL with some query parameters replaced (for `next` links)."""
    query = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return str(request.url.replace(query=urlencode(query)))


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def cursor_for(published_at: float, item_id: str, prefix: str = "") -> str:
    return prefix + b64(f"{published_at!r}|{item_id}")  # repr round-trips exactly


def parse_cursor(cursor: str | None, prefix: str = "") -> tuple[float, str] | bool | None:
    """(time, id) for a valid cursor, None when absent, False when malformed."""
    if not cursor:
        return None
    raw = unb64(cursor[len(prefix) :]) if cursor.startswith(prefix) else None
    if not raw or "|" not in raw:
        return False
    when, _, item_id = raw.partition("|")
    try:
        return float(when), item_id
    except ValueError:
        return False
