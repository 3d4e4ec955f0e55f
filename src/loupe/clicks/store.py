"""Writes enriched clicks and orphan visits to PostgreSQL: one statement per table per batch.

Exactly once on top of at-least-once delivery: every click carries its id and time, the primary key
is (id, clicked_at), and inserts skip conflicts; the same statement adds the clicks it inserted to
their roll-ups (rollups.py). The unique-visitor flag comes from `click_visitors`,
whose key (link, day, visitor hash) admits one first visit; it is written in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from loupe.clicks.enrich import EnrichedClick, enrich
from loupe.clicks.events import CLICK, EPOCH, RawClick, uuid_hex
from loupe.clicks.rollups import insert_clicks
from loupe.clicks.visitor import daily_salts, keyed

DAY_US = 86_400_000_000

INSERT_VISITORS = """
INSERT INTO click_visitors (link_id, day, visitor_hash)
SELECT * FROM unnest($1::uuid[], $2::date[], $3::text[])
ON CONFLICT DO NOTHING
RETURNING link_id, day, visitor_hash
"""

INSERT_ORPHANS = """
INSERT INTO orphan_visits (id, visited_at, code, country, device, os, browser, referrer_host, bot, bot_reason,
                           visitor_hash)
SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::bool[], $10::text[], $11::text[])
ON CONFLICT DO NOTHING
"""


@dataclass
class StoreResult:
    clicks: int = 0
    orphans: int = 0
    duplicates: int = 0


def _inserted(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


async def _first_visits(conn: Any, clicks: list[EnrichedClick]) -> set[str]:
    """Ids of the clicks that are their visitor's first on that link that day (people only)."""
    keys: dict[tuple[str, date, str], str] = {}
    for click in clicks:
        if click.bot:
            continue
        # Spelled as RETURNING's `.hex` spells it (a caller's own RawClick may hold another spelling).
        key = (uuid_hex(click.raw.link_id), click.at.date(), click.visitor_hash)
        keys.setdefault(key, click.raw.id)
    if not keys:
        return set()
    links, days, hashes = zip(*sorted(keys), strict=True)  # key order: see `store`
    rows = await conn.fetch(INSERT_VISITORS, list(links), list(days), list(hashes))
    return {keys[(row["link_id"].hex, row["day"], row["visitor_hash"])] for row in rows}


async def store_raw(conn: Any, raws: list[RawClick], *, rollups: bool = True) -> StoreResult:
    """Enrich (with each day's visitor salt) and insert, inside the caller's transaction."""
    days = [raw.at_us // DAY_US for raw in raws]  # UTC day numbers: one date per day, not one per click
    dates = {day: (EPOCH + timedelta(days=day)).date() for day in set(days)}
    salts = await daily_salts(conn, dates.values())
    states = {day: keyed(salts[dates[day]]) for day in dates}
    enriched = [enrich(raw, states[day]) for raw, day in zip(raws, days, strict=True)]
    return await store(conn, enriched, rollups=rollups)


async def store(conn: Any, batch: list[EnrichedClick], *, rollups: bool = True) -> StoreResult:
    """Insert a batch inside the caller's transaction (`conn` is an asyncpg connection), with the clicks'
    roll-ups (`rollups=False` is the benchmark's baseline only)."""
    # In one order (time, then id: a visitor's first click stays the earliest): two flushes of overlapping
    # batches (a redelivery) then wait on each other's unique-index entries in that order, never in a cycle
    # (unsorted, they deadlocked now and then).
    batch = sorted(batch, key=lambda c: (c.raw.at_us, c.raw.id))
    clicks = [c for c in batch if c.raw.kind == CLICK and c.raw.link_id and c.raw.workspace_id]
    orphans = [c for c in batch if c.raw.kind != CLICK]
    result = StoreResult()
    if clicks:
        first = await _first_visits(conn, clicks)
        columns: list[list[Any]] = [
            [c.raw.id for c in clicks],  # uuid columns take the hex text: asyncpg parses it in C
            [c.at for c in clicks],
            [c.raw.workspace_id for c in clicks],
            [c.raw.link_id for c in clicks],
            [c.country for c in clicks],
            [c.device for c in clicks],
            [c.os for c in clicks],
            [c.browser for c in clicks],
            [c.referrer_host for c in clicks],
            [c.bot for c in clicks],
            [c.bot_reason for c in clicks],
            [c.visitor_hash for c in clicks],
            [c.raw.id in first for c in clicks],
        ]
        result.clicks = await insert_clicks(conn, columns, rollups=rollups)
    if orphans:
        status = await conn.execute(
            INSERT_ORPHANS,
            [c.raw.id for c in orphans],
            [c.at for c in orphans],
            [c.raw.code[:200] for c in orphans],
            [c.country for c in orphans],
            [c.device for c in orphans],
            [c.os for c in orphans],
            [c.browser for c in orphans],
            [c.referrer_host for c in orphans],
            [c.bot for c in orphans],
            [c.bot_reason for c in orphans],
            [c.visitor_hash for c in orphans],
        )
        result.orphans = _inserted(status)
    result.duplicates = len(clicks) + len(orphans) - result.clicks - result.orphans
    return result
