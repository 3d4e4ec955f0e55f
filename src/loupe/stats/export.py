"""CSV renderings of the stats, streamed a line at a time (spreadsheet-safe: cells that a spreadsheet would
run as a formula are quoted)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from loupe.stats.schemas import Counts, CreatorStatsRow, Stats, WorkspaceLinkStats

COUNT_COLUMNS = ["clicks", "unique_clicks", "bot_clicks", "conversions", "conversion_rate", "revenue"]
CREATOR_COLUMNS = ["influencer_id", "name", "links", "campaigns", *COUNT_COLUMNS]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _counts(row: Counts) -> list[Any]:
    revenue = "; ".join(f"{r.amount} {r.currency}" for r in row.revenue)
    return [row.clicks, row.unique_clicks, row.bot_clicks, row.conversions, row.conversion_rate, revenue]


class _Line:
    """Formats one CSV record at a time."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def __call__(self, row: list[Any]) -> str:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow([_cell(v) for v in row])
        return self.buffer.getvalue()


async def csv_lines(header: list[str], rows: Iterable[list[Any]] | AsyncIterable[list[Any]]) -> AsyncIterator[str]:
    line = _Line()
    yield line(header)
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield line(row)
    else:
        for row in rows:
            yield line(row)


def stats_rows(stats: Stats) -> Iterator[list[Any]]:
    """One row for the totals, then one per breakdown entry: `breakdown,key,<counts>`."""
    yield ["total", "", *_counts(stats.totals)]
    for name in ("day", "country", "device", "referrer"):
        for r in getattr(stats, f"by_{name}"):
            yield [name, r.key, *_counts(r)]


STATS_COLUMNS = ["breakdown", "key", *COUNT_COLUMNS]
LINK_COLUMNS = ["link_id", "name", "code", "campaign_id", "influencer_id", "archived", *COUNT_COLUMNS]


def link_rows(stats: WorkspaceLinkStats) -> Iterator[list[Any]]:
    for r in stats.data:
        yield [r.link_id, r.name, r.code, r.campaign_id, r.influencer_id, str(r.archived).lower(), *_counts(r)]


async def creator_rows(rows: AsyncIterable[CreatorStatsRow]) -> AsyncIterator[list[Any]]:
    async for r in rows:
        yield [r.influencer_id, r.name, r.links, r.campaigns, *_counts(r)]
