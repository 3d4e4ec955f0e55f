"""Rate-limit headers of each platform -> RateLimitState, and how long to wait."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .models import Platform, RateLimitState, utcnow

# Used when a platform says "slow down" without saying for how long (TikTok has no headers).
DEFAULT_RETRY_AFTER = 60.0
# Meta: no estimate in the headers -> its windows are a rolling hour; wait a sizeable slice of it.
META_DEFAULT_RETRY_AFTER = 300.0
# Meta 368 "temporarily blocked for policy violations".
META_POLICY_BLOCK_RETRY_AFTER = 3600.0


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _json_header(headers: Mapping[str, str], name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _seconds_until(epoch: int, now: datetime) -> float:
    return max(1.0, epoch - now.timestamp())


def parse_meta(platform: Platform, headers: Mapping[str, str], now: datetime | None = None) -> RateLimitState | None:
    """X-App-Usage / X-Page-Usage / X-Ad-Account-Usage are flat percentages;
    X-Business-Use-Case-Usage maps object ids to lists of usage objects with
    `estimated_time_to_regain_access` in minutes."""
    now = now or utcnow()
    app = _json_header(headers, "x-app-usage")
    page = _json_header(headers, "x-page-usage")
    buc = _json_header(headers, "x-business-use-case-usage")
    if app is None and buc is None and page is None:
        return None
    usage: list[float] = []
    regain_minutes: list[float] = []
    for flat in (app, page):
        if isinstance(flat, dict):
            usage += [
                float(v)
                for k, v in flat.items()
                if k != "estimated_time_to_regain_access" and isinstance(v, int | float)
            ]
            if isinstance(flat.get("estimated_time_to_regain_access"), int | float):
                regain_minutes.append(float(flat["estimated_time_to_regain_access"]))
    if isinstance(buc, dict):
        for entries in buc.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, dict):
                    continue
                for key in ("call_count", "total_cputime", "total_time"):
                    if isinstance(entry.get(key), int | float):
                        usage.append(float(entry[key]))
                eta = entry.get("estimated_time_to_regain_access")
                if isinstance(eta, int | float):
                    regain_minutes.append(float(eta))
    wait = max(regain_minutes) * 60 if regain_minutes and max(regain_minutes) > 0 else None
    return RateLimitState(
        platform=platform,
        observed_at=now,
        usage_percent=max(usage) if usage else None,
        app_usage=app if isinstance(app, dict) else None,
        business_usage=buc if isinstance(buc, dict) else None,
        retry_after=wait,
        reset_at=now + timedelta(seconds=wait) if wait else None,
    )


def parse_epoch_headers(
    platform: Platform,
    headers: Mapping[str, str],
    prefix: str,
    now: datetime | None = None,
) -> RateLimitState | None:
    """X (`x-rate-limit-*`) and Twitch (`Ratelimit-*`): limit, remaining, reset as epoch seconds."""
    now = now or utcnow()
    limit = _int(headers.get(f"{prefix}limit"))
    remaining = _int(headers.get(f"{prefix}remaining"))
    reset = _int(headers.get(f"{prefix}reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimitState(
        platform=platform,
        observed_at=now,
        limit=limit,
        remaining=remaining,
        reset_at=datetime.fromtimestamp(reset, UTC) if reset is not None else None,
        retry_after=_seconds_until(reset, now) if reset is not None else None,
    )


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Standard Retry-After, seconds or HTTP date."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    seconds = _int(raw)
    if seconds is not None:
        return float(max(seconds, 0))
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or utcnow())).total_seconds())


def seconds_until_pacific_midnight(now: datetime | None = None) -> float:
    """YouTube's daily quota resets at midnight Pacific time."""
    now = now or utcnow()
    pacific = now.astimezone(ZoneInfo("America/Los_Angeles"))
    midnight = (pacific + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - pacific).total_seconds())
