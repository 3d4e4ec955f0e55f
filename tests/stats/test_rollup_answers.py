"""Every stats answer read from the roll-ups equals the raw scan's answer on the same data, in several time
zones, over ranges that cross a month's end and the days clocks change."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from loupe.clicks.jobs import fold_click_rollups
from loupe.clicks.pg import engine_transaction
from loupe.clicks.rollups import insert_clicks
from loupe.kit.context import ProcessContext
from loupe.stats.rebuild import rebuild
from loupe.stats.service import StatsService
from loupe.workspaces.auth import Principal
from tests.clicks.rollup_support import (
    click_columns,
    click_recount,
    click_rollups,
    conversion_recount,
    conversion_rollups,
    raw_conversions,
)
from tests.clicks.support import make_campaign, make_link, sql
from tests.conftest import Tenant
from tests.stats.raw_reference import RawStatsRepository

pytestmark = pytest.mark.asyncio

# Clocks change on 2026-03-08 and 11-01 in New York, 03-29 and 10-25 in Paris; months end within both spans
# of the clicks (rollup_support.SPANS).
RANGES = [
    (date(2026, 3, 1), date(2026, 4, 19)),
    (date(2026, 3, 29), date(2026, 3, 29)),
    (date(2026, 3, 8), date(2026, 3, 8)),
    (date(2026, 3, 31), date(2026, 4, 1)),
    (date(2026, 10, 24), date(2026, 11, 2)),
    (date(2026, 2, 27), date(2026, 3, 1)),
]
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"]


@pytest.mark.parametrize("folded_until", [None, datetime(2026, 3, 30, tzinfo=UTC)], ids=["folded", "half-folded"])
async def test_roll_up_answers_equal_the_raw_scan_in_every_zone(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any, folded_until: datetime | None
) -> None:
    """Every day of the clicks folded (the reset leaves the folds at today), or only those before 30 March
    (the later ones in hour rows only, until the worker's fold, after which the answers are the same)."""
    if folded_until is not None:
        await sql(db, "UPDATE click_rollup_folds SET folded_until = :at", at=folded_until)
    rng = random.Random(2026)
    campaign_id = await make_campaign(db, tenant.workspace_id)
    links = [await make_link(db, tenant.workspace_id, campaign_id=campaign_id) for _ in range(3)]
    links.append(await make_link(db, tenant.workspace_id))
    other = await make_tenant("Other")  # its clicks share the hours: never in this workspace's answers
    other_link = await make_link(db, other.workspace_id)
    async with engine_transaction(db.engine)() as conn:
        await insert_clicks(conn, click_columns(links, tenant.workspace_id, 3000, rng))
        await insert_clicks(conn, click_columns([other_link], other.workspace_id, 300, rng))
    await raw_conversions(db, tenant.workspace_id, rng)
    await raw_conversions(db, other.workspace_id, rng)
    await rebuild(engine_transaction(db.engine))  # the conversions were written raw: backfill them
    assert await click_rollups(db) == await click_recount(db)
    assert await conversion_rollups(db) == await conversion_recount(db)
    if folded_until is not None:
        days = {grain for (_, _, _, grain, bucket, _) in await click_rollups(db) if bucket >= folded_until}
        assert days == {"hour"}  # the days not folded yet have no day rows

    principal = Principal(uuid.UUID(tenant.workspace_id), uuid.uuid4(), frozenset({"read"}))
    await _compare(db, client, tenant, principal, links, campaign_id, ZONES)
    if folded_until is not None:  # the worker folds every day that is over: nothing read changes
        folded = (await fold_click_rollups({"process": db}))["folded"]
        assert folded[0] == "2026-03-30" and len(folded) == (datetime.now(UTC).date() - date(2026, 3, 30)).days
        assert await click_rollups(db) == await click_recount(db)
        await _compare(db, client, tenant, principal, links, campaign_id, ["Europe/Paris"])


async def _compare(
    db: ProcessContext,
    client: httpx.AsyncClient,
    tenant: Tenant,
    principal: Principal,
    links: list[dict[str, Any]],
    campaign_id: str,
    zones: list[str],
) -> None:
    compared = 0
    for zone in zones:
        changed = await client.patch("/v1/workspace", json={"time_zone": zone}, headers=tenant.write)
        assert changed.status_code == 200 and changed.json()["time_zone"] == zone, changed.text
        for first, last in RANGES:
            async with db.sessionmaker() as session:
                answers = []
                for source in (StatsService(session, principal), StatsService(session, principal, RawStatsRepository)):
                    answers.append(
                        [
                            await source.link(uuid.UUID(links[0]["id"]), first, last),
                            await source.campaign(uuid.UUID(campaign_id), first, last),
                            await source.workspace(first, last),
                            await source.links(first, last),
                        ]
                    )
            rolled, raw = answers
            assert rolled == raw, (zone, first, last)
            compared += 1
            assert raw[2].totals.clicks > 0 or first == last
    assert compared == len(zones) * len(RANGES)


async def test_a_zone_that_is_not_whole_hours_from_utc_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for zone, words in [("Asia/Kolkata", "UTC+05:30"), ("America/St_Johns", "UTC-03:30"), ("Mars/Olympus", "IANA")]:
        response = await client.patch("/v1/workspace", json={"time_zone": zone}, headers=tenant.write)
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "body.time_zone" and words in error["reason"]
    assert (await client.get("/v1/workspace", headers=tenant.read)).json()["time_zone"] == "UTC"
    read_only = await client.patch("/v1/workspace", json={"time_zone": "Europe/Paris"}, headers=tenant.read)
    assert read_only.status_code == 403
