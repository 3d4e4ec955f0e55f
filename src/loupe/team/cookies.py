"""Tokens as cookies, for a browser app: HttpOnly (scripts cannot read them), Secure, SameSite=Strict, the
refresh token only sent to /v1/auth. The CSRF token is readable (not HttpOnly) so the app can echo it in
`X-CSRF-Token`, which a page on another site can neither read nor make up."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response

from loupe.kit.errors import Forbidden
from loupe.people.service import Tokens
from loupe.people.tokens import ACCESS_TTL, REFRESH_TTL, csrf_matches
from loupe.workspaces.auth import ACCESS_COOKIE, CSRF_HEADER

REFRESH_COOKIE = "loupe_refresh"
CSRF_COOKIE = "loupe_csrf"


def set_tokens(response: Response, tokens: Tokens) -> None:
    access, refresh = int(ACCESS_TTL.total_seconds()), int(REFRESH_TTL.total_seconds())
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, max_age=access, path="/v1", httponly=True, secure=True, samesite="strict"
    )
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=refresh,
        path="/v1/auth",
        httponly=True,
        secure=True,
        samesite="strict",
    )
    response.set_cookie(CSRF_COOKIE, tokens.csrf_token, max_age=refresh, path="/", secure=True, samesite="strict")


def clear_tokens(response: Response) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/v1", secure=True, httponly=True, samesite="strict")
    response.delete_cookie(REFRESH_COOKIE, path="/v1/auth", secure=True, httponly=True, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=True, samesite="strict")


def refresh_token_of(request: Request, given: str | None) -> tuple[str, bool]:
    """The refresh token from the body, else from its cookie; and whether it came from the cookie."""
    if given:
        return given, False
    return request.cookies.get(REFRESH_COOKIE, ""), True


def check_csrf(request: Request, keys: list[bytes], session_id: uuid.UUID) -> None:
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not csrf_matches(keys, session_id, presented):
        raise Forbidden(f"A request authenticated by cookie must send the session's CSRF token in `{CSRF_HEADER}`.")
