"""Verifying what platforms send us: Meta's `signed_request` and TikTok's `TikTok-Signature`.

Both are HMAC-SHA256 under the app secret, compared in constant time. A value that fails is None: the
caller answers 4xx and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any

TIKTOK_TOLERANCE_S = 300  # a signed delivery older (or newer) than this is a replay


def _unb64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def meta_payload(signed_request: str, secrets: Iterable[str]) -> dict[str, Any] | None:
    """The payload of a valid signed_request under any of our Meta app secrets."""
    signature, sep, body = signed_request.partition(".")
    if not sep or not body:
        return None
    try:
        sig = _unb64(signature)
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict) or str(payload.get("algorithm", "")).upper() != "HMAC-SHA256":
        return None
    for secret in secrets:
        if secret and hmac.compare_digest(sig, hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()):
            return payload
    return None


def tiktok_valid(header: str | None, body: bytes, secret: str, now: float | None = None) -> bool:
    if not header or not secret:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TIKTOK_TOLERANCE_S:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("s", ""))
