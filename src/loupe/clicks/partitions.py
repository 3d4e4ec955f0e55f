"""Monthly range partitions of `clicks`, created ahead of time by a daily cron job.

A DEFAULT partition catches anything outside the prepared months, so no click is ever refused for
lack of a partition; when such a month is prepared later, its rows move out of the default first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

MONTHS_AHEAD = 3


def month_start(day: date, offset: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"clicks_p{month.year:04d}{month.month:02d}"


async def ensure_month(conn: Any, month: date) -> bool:
    """Create the partition of `month` if missing (inside the caller's transaction). True if created."""
    name = partition_name(month)
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
    if exists:
        return False
    start, end = month.isoformat(), month_start(month, 1).isoformat()
    # Serialise concurrent creators; then move strays out of the default so ATTACH accepts the range.
    await conn.execute("LOCK TABLE clicks IN SHARE ROW EXCLUSIVE MODE")
    if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name):
        return False
    await conn.execute(f"CREATE TABLE {name} (LIKE clicks INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    moved = f"clicked_at >= '{start}' AND clicked_at < '{end}'"
    await conn.execute(
        f"WITH moved AS (DELETE FROM clicks_default WHERE {moved} RETURNING *) INSERT INTO {name} SELECT * FROM moved"
    )
    await conn.execute(f"ALTER TABLE clicks ATTACH PARTITION {name} FOR VALUES FROM ('{start}') TO ('{end}')")
    return True


async def ensure_partitions(conn: Any, today: date, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    created = []
    for offset in range(months_ahead + 1):
        month = month_start(today, offset)
        if await ensure_month(conn, month):
            created.append(partition_name(month))
    return created
