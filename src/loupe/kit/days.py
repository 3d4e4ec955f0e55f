"""`from`/`to` query parameters: inclusive UTC days, the same bounds and errors on every endpoint."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loupe.kit.errors import ValidationFailed

# Data exists from 1970 on; the upper bound leaves room for the day after the last one.
EARLIEST, LATEST = date(1970, 1, 1), date(9999, 12, 30)


def check_days(first: date | None, last: date | None) -> None:
    """Either may be left out; given, each lies within EARLIEST..LATEST and `from` is not after `to`."""
    for field, value in (("query.from", first), ("query.to", last)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationFailed.on(field, f"Dates run from {EARLIEST} to {LATEST}.")
    if first and last and first > last:
        raise ValidationFailed.on("query.from", "`from` must not be after `to`.")


def day_start(day: date) -> datetime:
    """00:00 UTC of the day."""
    return datetime.combine(day, time(), UTC)


# Roll-ups count by the UTC hour: a zone's days are exact only if its offsets are whole hours.
ZONE_CHECK_YEARS = range(2000, 2041)


def check_time_zone(name: str, field: str = "body.time_zone") -> str:
    """An IANA zone name whose UTC offsets (2000-2040) are all whole hours."""
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed.on(field, f"{name!r} is not an IANA time zone (e.g. Europe/Paris).") from exc
    for year in ZONE_CHECK_YEARS:
        for week in range(53):
            moment = datetime(year, 1, 1, tzinfo=UTC) + timedelta(weeks=week)
            offset = moment.astimezone(zone).utcoffset() or timedelta()
            if offset % timedelta(hours=1):
                sign, minutes = "-" if offset < timedelta() else "+", abs(offset) // timedelta(minutes=1)
                shown = f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
                reason = f"{name} is {shown} at times; only zones of whole-hour offsets are supported for now."
                raise ValidationFailed.on(field, reason)
    return name
