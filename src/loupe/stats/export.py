"""CSV renderings of the stats (spreadsheet-safe: cells that a spreadsheet would run as a formula are quoted)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from loupe.stats.schemas import Counts, Stats, WorkspaceLinkStats

COUNT_COLUMNS = ["clicks", "unique_clicks", "bot_clicks", "conversions", "conversion_rate", "revenue"]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _counts(row: Counts) -> list[Any]:
    revenue = "; ".join(f"{r.amount} {r.currency}" for r in row.revenue)
    return [row.clicks, row.unique_clicks, row.bot_clicks, row.conversions, row.conversion_rate, revenue]


def _render(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def stats_csv(stats: Stats) -> str:
    """One row for the totals, then one per breakdown entry: `breakdown,key,<counts>`."""
    rows: list[list[Any]] = [["total", "", *_counts(stats.totals)]]
    for name in ("day", "country", "device", "referrer"):
        rows += [[name, r.key, *_counts(r)] for r in getattr(stats, f"by_{name}")]
    return _render(["breakdown", "key", *COUNT_COLUMNS], rows)


def links_csv(stats: WorkspaceLinkStats) -> str:
    header = ["link_id", "name", "code", "campaign_id", "influencer_id", "archived", *COUNT_COLUMNS]
    rows = (
        [r.link_id, r.name, r.code, r.campaign_id, r.influencer_id, str(r.archived).lower(), *_counts(r)]
        for r in stats.data
    )
    return _render(header, rows)
