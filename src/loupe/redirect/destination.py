"""Where a link sends people: its destination with the UTM parameters and the click id appended.

Built once per link when it enters the cache, as a prefix and a suffix around the click id, so a
request only concatenates three strings. The destination's own query is kept byte for byte, except
parameters of the same name as those we set (our UTM values and the click id win).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote_plus, urlencode, urlsplit

CLICK_PARAM = "lp_click"
# Characters kept as they are in a Location header; anything else (non-ASCII) is percent-encoded.
_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


def split_location(destination: str, utm: Mapping[str, str | None]) -> tuple[str, str] | None:
    """(prefix, suffix) so that `prefix + click_id + suffix` is the Location; None if not http(s)."""
    parts = urlsplit(destination.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    ours = {key: value for key, value in utm.items() if value}
    replaced = {*ours, CLICK_PARAM}
    kept = [seg for seg in parts.query.split("&") if seg and unquote_plus(seg.split("=", 1)[0]) not in replaced]
    added = urlencode(ours)
    query = "&".join([*kept, *([added] if added else []), f"{CLICK_PARAM}="])
    base = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
    prefix = quote(f"{base}?{query}", safe=_SAFE)
    suffix = quote(f"#{parts.fragment}", safe=_SAFE) if parts.fragment else ""
    return prefix, suffix
