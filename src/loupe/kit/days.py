"""`from`/`to` query parameters: inclusive UTC days, the same bounds and errors on every endpoint."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

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
