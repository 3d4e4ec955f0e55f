"""Stats rules the main scenario does not reach: the exact bounds of the range, conversions counted on the
day they are received, conversions without a value, the rate without clicks, the range limit, CSV cells."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from loupe.clicks.pg import engine_transaction
from loupe.kit.context import ProcessContext
from loupe.stats.rebuild import rebuild
from tests.clicks.support import insert_click, make_campaign, make_link, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


def _days() -> tuple[date, date]:
    """A six-day range ending five days ago (taken when the test runs)."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=10), today - timedelta(days=5)


def _row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


async def _convert(client: httpx.AsyncClient, tenant: Tenant, click_id: str, ref: str, **value: str) -> str:
    body = {"click_id": click_id, "event": "purchase", "external_id": ref, **value}
    response = await client.post("/v1/conversions", json=body, headers=tenant.write)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _received(db: ProcessContext, conversion_id: str, at: datetime) -> None:
    """As if received at `at`: the raw row moved, then the roll-ups recounted (`loupe stats rebuild`)."""
    await sql(db, "UPDATE conversions SET created_at = :at WHERE id = :id", at=at, id=conversion_id)
    await rebuild(engine_transaction(db.engine))


async def test_the_range_is_both_days_whole_and_nothing_around_them(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first, last = _days()
    link = await make_link(db, tenant.workspace_id)
    ws = tenant.workspace_id
    await insert_click(db, link, ws, f"{first - timedelta(days=1)}T23:59:59.999999+00:00")  # out
    await insert_click(db, link, ws, f"{first}T00:00:00+00:00")
    await insert_click(db, link, ws, f"{last}T23:59:59.999999+00:00")
    await insert_click(db, link, ws, f"{last + timedelta(days=1)}T00:00:00+00:00")  # out
    params = {"from": first.isoformat(), "to": last.isoformat()}
    stats = (await client.get(f"/v1/links/{link['id']}/stats", params=params, headers=tenant.read)).json()
    assert stats["totals"]["clicks"] == 2
    assert [d["key"] for d in stats["by_day"]] == [(first + timedelta(days=i)).isoformat() for i in range(6)]
    assert [d["clicks"] for d in stats["by_day"]] == [1, 0, 0, 0, 0, 1]


async def test_conversions_count_on_the_day_they_are_received_with_their_clicks_properties(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first, last = _days()
    link = await make_link(db, tenant.workspace_id)
    click = await insert_click(db, link, tenant.workspace_id, f"{first}T10:00:00+00:00", country="DE", referrer=None)
    paid = await _convert(client, tenant, click, "o-1", value="10", currency="EUR")
    free = await _convert(client, tenant, click, "o-2")  # no value: a conversion, no revenue
    late = await _convert(client, tenant, click, "o-3", value="5", currency="USD")
    await _received(db, paid, datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=12))
    await _received(db, free, datetime.combine(last, datetime.min.time(), UTC) + timedelta(hours=13))
    await _received(db, late, datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC))  # out

    params = {"from": first.isoformat(), "to": last.isoformat()}
    stats = (await client.get(f"/v1/links/{link['id']}/stats", params=params, headers=tenant.read)).json()
    totals = stats["totals"]
    assert (totals["clicks"], totals["conversions"], totals["conversion_rate"]) == (1, 2, 2.0)
    assert totals["revenue"] == [{"currency": "EUR", "amount": "10.0000"}]
    assert (
        _row(stats["by_day"], first.isoformat())["clicks"],
        _row(stats["by_day"], first.isoformat())["conversions"],
    ) == (1, 0)
    received = _row(stats["by_day"], last.isoformat())
    assert (received["clicks"], received["conversions"], received["conversion_rate"]) == (0, 2, None)
    assert received["revenue"] == [{"currency": "EUR", "amount": "10.0000"}]
    assert _row(stats["by_country"], "DE")["conversions"] == 2
    assert _row(stats["by_referrer"], "direct")["conversions"] == 2

    only_last = {"from": last.isoformat(), "to": last.isoformat()}
    stats = (await client.get(f"/v1/links/{link['id']}/stats", params=only_last, headers=tenant.read)).json()
    assert (stats["totals"]["clicks"], stats["totals"]["conversions"]) == (0, 2)
    assert stats["totals"]["conversion_rate"] is None  # no clicks: no rate
    assert _row(stats["by_device"], "mobile")["clicks"] == 0  # the click's device, from an earlier day


async def test_bots_never_count_as_people_or_uniques(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first, last = _days()
    link = await make_link(db, tenant.workspace_id)
    for hour in range(3):
        await insert_click(db, link, tenant.workspace_id, f"{first}T0{hour}:00:00+00:00", bot=True, country="US")
    await insert_click(db, link, tenant.workspace_id, f"{first}T05:00:00+00:00", country="US")
    params = {"from": first.isoformat(), "to": last.isoformat()}
    stats = (await client.get(f"/v1/links/{link['id']}/stats", params=params, headers=tenant.read)).json()
    totals = stats["totals"]
    assert (totals["clicks"], totals["unique_clicks"], totals["bot_clicks"]) == (1, 1, 3)
    assert _row(stats["by_country"], "US")["bot_clicks"] == 3
    assert _row(stats["by_device"], "bot")["clicks"] == 0


async def test_the_range_spans_at_most_366_days(client: httpx.AsyncClient, tenant: Tenant) -> None:
    today = datetime.now(UTC).date()
    widest = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
    assert (await client.get("/v1/stats/links", params=widest, headers=tenant.read)).status_code == 200
    too_wide = {"from": (today - timedelta(days=366)).isoformat(), "to": today.isoformat()}
    response = await client.get("/v1/stats/links", params=too_wide, headers=tenant.read)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.from"


async def test_csv_files_are_named_after_what_they_count_and_spreadsheet_safe(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first, last = _days()
    campaign_id = await make_campaign(db, tenant.workspace_id)
    link = await make_link(db, tenant.workspace_id, campaign_id=campaign_id)
    await sql(db, "UPDATE tracking_links SET name = '=HYPERLINK(1)', archived_at = now() WHERE id = :id", id=link["id"])
    await sql(
        db,
        "INSERT INTO tracking_links (id, workspace_id, campaign_id, kind, name, destination) "
        "VALUES (:id, :ws, :c, 'campaign', 'Template', 'https://shop.example/')",
        id=str(uuid.uuid4()),
        ws=tenant.workspace_id,
        c=campaign_id,
    )
    await insert_click(db, link, tenant.workspace_id, f"{first}T10:00:00+00:00", referrer="-evil.example")
    params = {"from": first.isoformat(), "to": last.isoformat(), "format": "csv"}

    response = await client.get(f"/v1/links/{link['id']}/stats", params=params, headers=tenant.read)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="link-{link["id"]}-stats.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["breakdown"] for r in rows[:2]] == ["total", "day"] and len(rows) == 1 + 6 + 1 + 1 + 1
    assert next(r for r in rows if r["breakdown"] == "referrer")["key"] == "'-evil.example"

    response = await client.get(f"/v1/campaigns/{campaign_id}/stats", params=params, headers=tenant.read)
    assert response.headers["content-disposition"] == f'attachment; filename="campaign-{campaign_id}-stats.csv"'

    response = await client.get("/v1/stats/links", params=params, headers=tenant.read)
    assert response.headers["content-disposition"] == 'attachment; filename="links-stats.csv"'
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert len(table) == 1  # creator links only: the campaign-level template has no clicks of its own
    assert (table[0]["name"], table[0]["archived"], table[0]["clicks"]) == ("'=HYPERLINK(1)", "true", "1")
    assert (table[0]["campaign_id"], table[0]["influencer_id"], table[0]["revenue"]) == (campaign_id, "", "")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"to": "0001-01-01"}, "query.to"), ({"from": "9999-12-31", "to": "9999-12-31"}, "query.from")],
)
async def test_dates_at_the_ends_of_the_calendar_are_refused(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/stats/links", params=params, headers=tenant.read)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
