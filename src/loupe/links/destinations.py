"""Which destinations a tracking link may redirect to: absolute http(s) URLs with a host, nothing else."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

MAX_LENGTH = 2048
SCHEMES = frozenset({"http", "https"})
_HOST = re.compile(r"^(?:\[[0-9a-f:.]+\]|[^\s/?#@:\\]+)$", re.IGNORECASE)


def check_destination(value: str) -> str:
    """Returns the destination (outer whitespace trimmed) or raises ValueError saying why it is refused."""
    url = value.strip()
    if not url:
        raise ValueError("must not be blank")
    if len(url) > MAX_LENGTH:
        raise ValueError(f"must be at most {MAX_LENGTH} characters")
    for char in url:
        if char.isspace():
            raise ValueError("must not contain whitespace; percent-encode it (%20)")
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise ValueError("must not contain control or invisible formatting characters")
    # Browsers read "\" as "/" but urlsplit does not; refusing it keeps both readings the same host.
    if "\\" in url:
        raise ValueError("must not contain backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from exc
    if not parts.scheme:
        raise ValueError("must be an absolute URL starting with http:// or https://")
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"scheme '{parts.scheme}' is not allowed; only http and https")
    if not url[len(parts.scheme) :].startswith("://"):
        raise ValueError("must be an absolute URL starting with http:// or https://")
    if "@" in parts.netloc:
        raise ValueError("must not contain credentials (user:password@)")
    host = parts.netloc.rsplit(":", 1)[0] if port is not None or parts.netloc.endswith(":") else parts.netloc
    if not host or not parts.hostname or not _HOST.match(host) or host.startswith(".") or ".." in host:
        raise ValueError("must have a host name")
    return url
