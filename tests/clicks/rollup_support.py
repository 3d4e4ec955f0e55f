"""Recounts of the roll-ups from the raw rows, in Python (independent of the SQL that maintains them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from loupe.kit.context import ProcessContext
from tests.clicks.support import sql

Key = tuple[str, str, str, str, datetime, str]


def _buckets(at: datetime) -> list[tuple[str, datetime]]:
    at = at.astimezone(UTC)
    return [
        ("hour", at.replace(minute=0, second=0, microsecond=0)),
        ("day", at.replace(hour=0, minute=0, second=0, microsecond=0)),
    ]


def _dimensions(click: Any) -> list[tuple[str, str]]:
    return [
        ("total", "total"),
        ("country", click["country"] or "unknown"),
        ("device", click["device"]),
        ("referrer", click["referrer_host"] or "direct"),
    ]


async def click_recount(db: ProcessContext) -> dict[Key, tuple[int, int, int]]:
    """(link, workspace, dimension, grain, bucket, key) → (people's clicks, unique clicks, bot clicks)."""
    sums: dict[Key, list[int]] = defaultdict(lambda: [0, 0, 0])
    for click in await sql(db, "SELECT * FROM clicks"):
        for dimension, key in _dimensions(click):
            for grain, bucket in _buckets(click["clicked_at"]):
                row = sums[(str(click["link_id"]), str(click["workspace_id"]), dimension, grain, bucket, key)]
                row[0] += not click["bot"]
                row[1] += (not click["bot"]) and click["unique_visitor"]
                row[2] += click["bot"]
    return {key: (a, b, c) for key, (a, b, c) in sums.items()}


async def click_rollups(db: ProcessContext) -> dict[Key, tuple[int, int, int]]:
    rows = await sql(db, "SELECT * FROM click_rollups")
    return {
        (str(r["link_id"]), str(r["workspace_id"]), r["dimension"], r["grain"], r["bucket"], r["key"]): (
            r["clicks"],
            r["unique_clicks"],
            r["bot_clicks"],
        )
        for r in rows
    }


async def conversion_recount(db: ProcessContext) -> dict[tuple[Any, ...], tuple[int, Decimal | None]]:
    """(…key, currency) → (conversions, revenue); breakdowns by the click only while the click is stored."""
    sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, None])
    query = (
        "SELECT v.*, c.id AS found, c.country, c.device, c.referrer_host FROM conversions v "
        "LEFT JOIN clicks c ON c.id = v.click_id AND c.clicked_at = v.clicked_at"
    )
    for conversion in await sql(db, query):
        dimensions = _dimensions(conversion) if conversion["found"] else [("total", "total")]
        for dimension, key in dimensions:
            for grain, bucket in _buckets(conversion["created_at"]):
                ids = (str(conversion["link_id"]), str(conversion["workspace_id"]), dimension, grain, bucket, key)
                row = sums[(*ids, conversion["currency"] or "")]
                row[0] += 1
                if conversion["value"] is not None:
                    row[1] = (row[1] or Decimal(0)) + conversion["value"]
    return {key: (n, revenue) for key, (n, revenue) in sums.items()}


async def conversion_rollups(db: ProcessContext) -> dict[tuple[Any, ...], tuple[int, Decimal | None]]:
    rows = await sql(db, "SELECT * FROM conversion_rollups")
    return {
        (
            str(r["link_id"]),
            str(r["workspace_id"]),
            r["dimension"],
            r["grain"],
            r["bucket"],
            r["key"],
            r["currency"],
        ): (r["conversions"], r["revenue"])
        for r in rows
    }
