"""Public link codes: random, URL-safe, unguessable."""

from __future__ import annotations

import secrets

CODE_BYTES = 6  # 48 random bits → 8 URL-safe characters
MAX_ATTEMPTS = 8


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def public_url(code: str, base_url: str) -> str:
    """Where a code is served (the redirect's `/l/{code}`)."""
    return f"{base_url.rstrip('/')}/l/{code}"
