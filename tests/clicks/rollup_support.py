"""Recounts of the roll-ups from the raw rows, in Python (independent of the SQL that maintains them), and
clicks and conversions across a month's end and the days clocks change."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from loupe.clicks.events import CLICK, RawClick, encode_batch, new_click_id
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from tests.clicks.support import BROWSER, DESKTOP, sql

Key = tuple[str, str, str, str, datetime, str]  # scope id, workspace, dimension, grain, bucket, key


async def _scopes(db: ProcessContext) -> Any:
    """The scope ids a row of a link adds to: the link, its campaign (if any), its workspace."""
    campaigns = {str(r["id"]): r["campaign_id"] for r in await sql(db, "SELECT id, campaign_id FROM tracking_links")}

    def scopes(row: Any) -> list[str]:
        campaign = campaigns.get(str(row["link_id"]))
        return [str(row["link_id"]), str(row["workspace_id"]), *([str(campaign)] if campaign else [])]

    return scopes


def _buckets(at: datetime, days_until: datetime | None = None) -> list[tuple[str, datetime]]:
    """Its hour, and its day unless day rows end before it (click day rows: where the folds are)."""
    at = at.astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    hour = ("hour", at.replace(minute=0, second=0, microsecond=0))
    return [hour, ("day", day)] if days_until is None or day < days_until else [hour]


async def folded_until(db: ProcessContext) -> datetime:
    return (await sql(db, "SELECT folded_until FROM click_rollup_folds"))[0]["folded_until"]  # type: ignore[no-any-return]


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
    scopes, folded = await _scopes(db), await folded_until(db)
    for click in await sql(db, "SELECT * FROM clicks"):
        for scope in scopes(click):
            for dimension, key in _dimensions(click):
                for grain, bucket in _buckets(click["clicked_at"], folded):
                    row = sums[(scope, str(click["workspace_id"]), dimension, grain, bucket, key)]
                    row[0] += not click["bot"]
                    row[1] += (not click["bot"]) and click["unique_visitor"]
                    row[2] += click["bot"]
    return {key: (a, b, c) for key, (a, b, c) in sums.items()}


async def click_rollups(db: ProcessContext) -> dict[Key, tuple[int, int, int]]:
    rows = await sql(db, "SELECT * FROM click_rollups")
    return {
        (str(r["scope_id"]), str(r["workspace_id"]), r["dimension"], r["grain"], r["bucket"], r["key"]): (
            r["clicks"],
            r["unique_clicks"],
            r["bot_clicks"],
        )
        for r in rows
    }


async def conversion_recount(db: ProcessContext) -> dict[tuple[Any, ...], tuple[int, Decimal | None]]:
    """(…key, currency) → (conversions, revenue); breakdowns by the click only while the click is stored."""
    sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, None])
    scopes = await _scopes(db)
    query = (
        "SELECT v.*, c.id AS found, c.country, c.device, c.referrer_host FROM conversions v "
        "LEFT JOIN clicks c ON c.id = v.click_id AND c.clicked_at = v.clicked_at"
    )
    for conversion in await sql(db, query):
        dimensions = _dimensions(conversion) if conversion["found"] else [("total", "total")]
        for scope in scopes(conversion):
            for dimension, key in dimensions:
                for grain, bucket in _buckets(conversion["created_at"]):
                    ids = (scope, str(conversion["workspace_id"]), dimension, grain, bucket, key)
                    row = sums[(*ids, conversion["currency"] or "")]
                    row[0] += 1
                    if conversion["value"] is not None:
                        row[1] = (row[1] or Decimal(0)) + conversion["value"]
    return {key: (n, revenue) for key, (n, revenue) in sums.items()}


async def conversion_rollups(db: ProcessContext) -> dict[tuple[Any, ...], tuple[int, Decimal | None]]:
    rows = await sql(db, "SELECT * FROM conversion_rollups")
    return {
        (
            str(r["scope_id"]),
            str(r["workspace_id"]),
            r["dimension"],
            r["grain"],
            r["bucket"],
            r["key"],
            r["currency"],
        ): (r["conversions"], r["revenue"])
        for r in rows
    }


# Clocks change on 2026-03-08 and 11-01 in New York, 03-29 and 10-25 in Paris; months end within both spans.
SPANS = [(datetime(2026, 3, 1, tzinfo=UTC), 50), (datetime(2026, 10, 20, tzinfo=UTC), 16)]
# Moments that cut days apart differently: a month's end, and Paris's spring-forward hour (01:00 UTC).
MONTH_END = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
DST_CHANGE = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
AGENTS = [BROWSER, DESKTOP, "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"]
ADDRESSES = ["81.2.69.160", "2.16.0.1", "5.39.0.1", "203.0.113.7"]  # few visitors: repeat clicks happen
REFERRERS = ["", "https://www.instagram.com/p/x", "https://t.co/abc"]


def raw_clicks(links: list[dict[str, Any]], count: int, rng: random.Random) -> list[RawClick]:
    """Clicks over the three hours around each of the two moments, on every link, by few visitors."""
    out = []
    for _ in range(count):
        link = rng.choice(links)
        moment = rng.choice([MONTH_END, DST_CHANGE]) + timedelta(seconds=rng.randrange(3 * 3600))
        at_us = int(moment.timestamp()) * 1_000_000 + rng.randrange(1_000_000)
        out.append(
            RawClick(
                new_click_id(), at_us, CLICK, link["code"], link["id"].replace("-", ""),
                link["workspace_id"].replace("-", ""), rng.choice(ADDRESSES), rng.choice(AGENTS),
                rng.choice(REFERRERS), rng.random() < 0.05,
            )
        )  # fmt: skip
    return out


async def enqueue(redis: Redis, settings: Settings, clicks: list[RawClick], per_entry: int) -> None:
    for i in range(0, len(clicks), per_entry):
        await redis.xadd(settings.click_stream, {"b": encode_batch([c.wire() for c in clicks[i : i + per_entry]])})


def click_columns(links: list[dict[str, Any]], workspace_id: str, count: int, rng: random.Random) -> list[list[Any]]:
    rows = []
    for _ in range(count):
        start, days = rng.choice(SPANS)
        bot = rng.random() < 0.1
        rows.append(
            [
                uuid.uuid4(),
                start + timedelta(seconds=rng.randrange(days * 86400), microseconds=rng.randrange(10**6)),
                uuid.UUID(workspace_id),
                uuid.UUID(rng.choice(links)["id"]),
                rng.choice(["FR", "DE", "US", None]),
                "bot" if bot else rng.choice(["mobile", "desktop", "tablet"]),
                None,
                None,
                rng.choice(["instagram.com", "t.co", None]),
                bot,
                "crawler" if bot else None,
                uuid.uuid4().hex,
                not bot and rng.random() < 0.7,
            ]
        )
    return [list(column) for column in zip(*rows, strict=True)]


async def raw_conversions(db: ProcessContext, workspace_id: str, rng: random.Random) -> None:
    """Conversions of a tenth of the clicks, received up to two days later, in two currencies or none."""
    clicks = await sql(
        db, "SELECT id, clicked_at, link_id FROM clicks WHERE NOT bot AND workspace_id = :ws", ws=workspace_id
    )
    for i, click in enumerate(rng.sample(clicks, len(clicks) // 10)):
        currency = rng.choice(["EUR", "USD", None])
        await sql(
            db,
            "INSERT INTO conversions (id, workspace_id, click_id, clicked_at, link_id, event, value, currency, "
            "external_id, created_at, updated_at) VALUES (:id, :ws, :click, :at, :link, 'purchase', :value, "
            ":currency, :ext, :received, now())",
            id=uuid.uuid4(),
            ws=workspace_id,
            click=click["id"],
            at=click["clicked_at"],
            link=click["link_id"],
            value=Decimal(rng.randrange(100, 10000)) / 100 if currency else None,
            currency=currency,
            ext=f"order-{i}",
            received=click["clicked_at"] + timedelta(seconds=rng.randrange(2 * 86400)),
        )
