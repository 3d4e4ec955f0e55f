"""Dates, durations and numbers in the many shapes platforms send them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_TWITCH_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def parse_datetime(value: Any) -> datetime | None:
    """ISO-8601 incl. Meta's `2024-06-17T19:39:18+0000`, X's `...000Z`, dates; always tz-aware UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float):
        return from_epoch(value)
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        # Meta writes offsets without a colon (+0000); fromisoformat in 3.11 accepts it, but be explicit.
        m = re.search(r"([+-])(\d{2})(\d{2})$", text)
        if m and "T" in text:
            text = text[: m.start()] + f"{m.group(1)}{m.group(2)}:{m.group(3)}"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def from_epoch(value: Any, *, millis: bool = False) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(number / 1000 if millis else number, UTC)


def iso_duration_seconds(value: str | None) -> float | None:
    """YouTube `PT4M13S`, `P1DT2H`; None when unparseable."""
    if not value:
        return None
    m = _ISO_DURATION.match(value.strip())
    if not m or not any(m.groupdict().values()):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def twitch_duration_seconds(value: str | None) -> float | None:
    """Twitch `3m21s`, `1h2m3s`."""
    if not value:
        return None
    m = _TWITCH_DURATION.match(value.strip())
    if not m or not any(m.groupdict().values()):
        return None
    return float(sum(int(v or 0) * mult for v, mult in zip(m.groups(), (3600, 60, 1), strict=True)))


def to_int(value: Any) -> int | None:
    """Counts that may arrive as strings (YouTube) or be absent (hidden likes)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None
