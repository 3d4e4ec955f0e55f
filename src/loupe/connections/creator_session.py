"""The creator-session cookie: which connections this browser completed, so another workspace's invite page
can offer them in one click (connect once). Encrypted and signed by the token vault, HttpOnly, SameSite=Lax,
Secure outside development and tests; 30 days."""

from __future__ import annotations

import uuid
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from loupe.config import Environment, Settings
from loupe.kit.vault import TokenVault, VaultError

COOKIE = "loupe_creator"
MAX_AGE = timedelta(days=30)
MAX_CONNECTIONS = 30  # keeps the cookie far below browsers' 4 KB


def connection_ids(request: Request, vault: TokenVault) -> list[uuid.UUID]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return []
    try:
        payload = vault.unseal(raw, ttl=int(MAX_AGE.total_seconds()))
        return [uuid.UUID(value) for value in payload.get("c", [])]
    except (VaultError, ValueError, AttributeError, TypeError):
        return []  # tampered, expired or from a dropped key: as if there were none


def remember(response: Response, request: Request, vault: TokenVault, settings: Settings, ids: list[uuid.UUID]) -> None:
    known = [*ids, *(i for i in connection_ids(request, vault) if i not in ids)][:MAX_CONNECTIONS]
    response.set_cookie(
        COOKIE,
        vault.seal({"c": [str(i) for i in known]}),
        max_age=int(MAX_AGE.total_seconds()),
        path="/connect",
        httponly=True,
        secure=settings.env not in (Environment.development, Environment.test),
        samesite="lax",
    )
