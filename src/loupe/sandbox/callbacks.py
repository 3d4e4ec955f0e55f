"""The app-dashboard callbacks a platform calls when a creator removes the app, and how they are signed.

`meta_signed_request` and `tiktok_signature` are importable so tests of a receiver can forge genuine calls.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

META = ("instagram", "facebook")
CALLBACK_FIELDS = {
    "instagram": ("deauthorize_url", "data_deletion_url"),
    "facebook": ("deauthorize_url", "data_deletion_url"),
    "tiktok": ("webhook_url",),
}
DEFAULT_PATHS = {
    "deauthorize_url": "/webhooks/meta/deauthorize",
    "data_deletion_url": "/webhooks/meta/data-deletion",
    "webhook_url": "/webhooks/tiktok",
}
TIMEOUT = 5.0
BODY_LIMIT = 2000  # a receiver's answer is echoed back, not stored: keep the admin answer readable


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def meta_signed_request(secret: str, payload: Mapping[str, Any]) -> str:
    """`<b64url(sig)>.<b64url(payload)>`, unpadded; sig = HMAC-SHA256(app secret, the encoded payload)."""
    body = _b64url(orjson.dumps(dict(payload)))
    sig = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{_b64url(sig)}.{body}"


def tiktok_signature(secret: str, timestamp: int, body: bytes | str) -> str:
    """The `TikTok-Signature` header value: `t=<timestamp>,s=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},s={digest}"


def default_callbacks(base: str | None) -> dict[str, dict[str, str | None]]:
    """Per app, the dashboard URLs; with `base` (the api's URL) they point at Loupe's own receivers."""
    root = base.rstrip("/") if base else None
    return {
        platform: {name: f"{root}{DEFAULT_PATHS[name]}" if root else None for name in names}
        for platform, names in CALLBACK_FIELDS.items()
    }


async def post(
    http: httpx.AsyncClient, name: str, url: str | None, sent: dict[str, Any], **request: Any
) -> dict[str, Any]:
    """POST one callback; whatever happens (refused, timeout, 500) is reported, never raised."""
    out: dict[str, Any] = {"callback": name, "url": url, "sent": sent}
    if not url:
        out["skipped"] = f"no {name}_url set for this app"
        return out
    try:
        answer = await http.post(url, timeout=TIMEOUT, **request)
    except httpx.HTTPError as err:
        out.update(status=None, error=f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
        return out
    out.update(status=answer.status_code, body=answer.text[:BODY_LIMIT])
    return out
