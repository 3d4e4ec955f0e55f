"""The secrets of sign-in: short-lived access tokens (signed JWTs naming a person, a session and a workspace),
opaque refresh and emailed tokens (random, stored as digests), and the CSRF token of cookie sessions.

Access tokens are signed with a key derived from the token vault's keys (the first signs, all verify), so
there is no new secret to configure, and rotating the vault's keys ends access tokens within 15 minutes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=30)  # a session signs in again after 30 days, however often it refreshed
ACCESS_PREFIX = "la_"  # tells an access token from an API key (`lp_`) at a glance
REFRESH_PREFIX = "lr_"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    person_id: uuid.UUID
    session_id: uuid.UUID
    workspace_id: uuid.UUID | None


def signing_keys(vault_keys: list[str]) -> list[bytes]:
    return [hashlib.sha256(b"loupe access tokens\x00" + key.encode()).digest() for key in vault_keys]


def issue_access(keys: Sequence[bytes], claims: AccessClaims, now: datetime) -> str:
    payload = {
        "sub": str(claims.person_id),
        "sid": str(claims.session_id),
        "ws": str(claims.workspace_id) if claims.workspace_id else None,
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TTL).timestamp()),
        "jti": secrets.token_urlsafe(8),  # two tokens of one second differ
    }
    return ACCESS_PREFIX + jwt.encode(payload, keys[0], algorithm=_ALGORITHM)


def read_access(keys: Sequence[bytes], token: str) -> AccessClaims | None:
    """The claims of a valid, unexpired token; None for anything else."""
    if not token.startswith(ACCESS_PREFIX):
        return None
    for key in keys:
        try:
            payload = jwt.decode(token.removeprefix(ACCESS_PREFIX), key, algorithms=[_ALGORITHM])
            workspace = payload.get("ws")
            return AccessClaims(
                uuid.UUID(payload["sub"]), uuid.UUID(payload["sid"]), uuid.UUID(workspace) if workspace else None
            )
        except jwt.ExpiredSignatureError:
            return None
        except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
            continue
    return None


def new_secret(prefix: str = "") -> tuple[str, str]:
    """A random secret and the digest stored in its place."""
    secret = prefix + secrets.token_urlsafe(32)
    return secret, digest(secret)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(keys: Sequence[bytes], session_id: uuid.UUID) -> str:
    """Bound to the session: a page on another site cannot read it from our cookie, nor make it up."""
    return _csrf(keys[0], session_id)


def csrf_matches(keys: Sequence[bytes], session_id: uuid.UUID, presented: str) -> bool:
    return any(hmac.compare_digest(_csrf(key, session_id), presented) for key in keys)


def _csrf(key: bytes, session_id: uuid.UUID) -> str:
    return hmac.new(key, b"csrf\x00" + session_id.bytes, hashlib.sha256).hexdigest()
