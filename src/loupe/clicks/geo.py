"""Offline IP-to-country with geoip2fast, which ships its own data file (no licence key, no download)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=1)
def _reader() -> Any:
    import geoip2fast
    from geoip2fast import GeoIP2Fast

    # The IPv6 file holds both families; the default one only IPv4.
    data = Path(geoip2fast.__file__).parent / "geoip2fast-ipv6.dat.gz"
    return GeoIP2Fast(geoip2fast_data_file=str(data)) if data.exists() else GeoIP2Fast()


@lru_cache(maxsize=65536)
def country_of(ip: str) -> str | None:
    """ISO 3166 alpha-2 code, or None for private, reserved, malformed or unknown addresses."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if not address.is_global:
        return None
    code = _reader().lookup(str(address)).country_code
    return code if isinstance(code, str) and len(code) == 2 and code.isalpha() else None
