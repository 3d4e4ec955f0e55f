"""A date range as spans of period roll-ups: every day of the range counted once, no other day at all, and
never more than half a month of days read at either end."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from loupe.trackings.analytics import periods

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((until - since).days)]


@given(DAYS, st.integers(min_value=0, max_value=800))
def test_the_spans_count_each_day_of_the_range_once(low: date, length: int) -> None:
    high = low + timedelta(days=length)
    counted: Counter[date] = Counter()
    read_days = 0
    for grain, since, until, sign in periods(low, high):
        assert since < until and sign in (1, -1)
        days = _days(since, until)
        if grain == "month":
            assert since.day == 1 and until.day == 1  # whole months
        else:
            read_days += len(days)
        for day in days:
            counted[day] += sign
    assert {day for day, n in counted.items() if n} == set(_days(low, high))
    assert all(n in (0, 1) for n in counted.values())
    assert read_days <= 31  # at most about half a month at each end, whatever the range's length
