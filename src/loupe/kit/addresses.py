"""Who is asking: the client address (honouring a trusted proxy header only when configured)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from loupe.config import Settings


def client_ip(scope: Mapping[str, Any], forwarded: bytes | None, hops: int) -> str:
    """The peer address, or, when a trusted proxy header is configured and present, the address our
    `hops` trusted proxies saw: X-Forwarded-For grows to the right, so count from the right. A header with
    fewer entries than hops did not pass all our proxies (its leftmost entry is the client's own words), so
    the peer is used."""
    if forwarded:
        parts = [p.strip() for p in forwarded.decode("latin-1").split(",") if p.strip()]
        if len(parts) >= hops > 0:
            return parts[-hops]
    client = scope.get("client")
    return str(client[0]) if client else ""


def request_address(request: Request, settings: Settings) -> str:
    """The address of an API request, by the same rule as the redirect's."""
    header = settings.trusted_proxy_header
    forwarded = request.headers.get(header) if header else None
    return client_ip(request.scope, forwarded.encode("latin-1") if forwarded else None, settings.trusted_proxy_hops)
