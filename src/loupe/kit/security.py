"""API keys: random secrets shown once, stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "lp_"


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    # Keys carry 256 bits of entropy, so a fast digest is enough (no password stretching needed)
    # and lookups stay O(1) by digest.
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters, kept to let people recognise a key without storing it."""
    return key[: len(KEY_PREFIX) + 6]


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
