"""Stats of a link, a campaign and the workspace: people, uniques and bots apart, conversions, revenue, CSV."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from tests.clicks.support import insert_click, make_campaign, make_link, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


@dataclass(frozen=True)
class Days:
    """The days a test's clicks fall on, counted back from `today`."""

    today: date

    @property
    def a(self) -> str:  # the two days with clicks
        return (self.today - timedelta(days=2)).isoformat()

    @property
    def b(self) -> str:
        return (self.today - timedelta(days=1)).isoformat()

    @property
    def before(self) -> str:  # just outside the 30-day range
        return (self.today - timedelta(days=30)).isoformat()

    @property
    def range(self) -> dict[str, str]:
        return {"from": (self.today - timedelta(days=29)).isoformat(), "to": self.today.isoformat()}


async def _convert(client: httpx.AsyncClient, tenant: Tenant, click_id: str, ref: str, value: str, cur: str) -> None:
    body = {"click_id": click_id, "event": "purchase", "value": value, "currency": cur, "external_id": ref}
    assert (await client.post("/v1/conversions", json=body, headers=tenant.write)).status_code == 201


@pytest.fixture
async def campaign(db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """Two creator links of one campaign, a third link outside it, clicks on two days, and conversions.
    Its days are taken when the test runs, never at import: a run that crosses midnight UTC holds."""
    days = Days(datetime.now(UTC).date())
    campaign_id = await make_campaign(db, tenant.workspace_id)
    ada = await make_link(db, tenant.workspace_id, campaign_id=campaign_id)
    bob = await make_link(db, tenant.workspace_id, campaign_id=campaign_id)
    solo = await make_link(db, tenant.workspace_id)
    ws = tenant.workspace_id
    paid = await insert_click(db, ada, ws, f"{days.a}T10:00:00+00:00", country="FR", referrer="instagram.com")
    also = await insert_click(db, ada, ws, f"{days.a}T11:00:00+00:00", country="FR", unique=False)
    await insert_click(db, ada, ws, f"{days.b}T09:00:00+00:00", country="DE", device="desktop", referrer=None)
    await insert_click(db, ada, ws, f"{days.b}T09:30:00+00:00", bot=True, country="US")
    await insert_click(db, ada, ws, f"{days.before}T23:59:59+00:00")  # outside the range
    bob_click = await insert_click(db, bob, ws, f"{days.b}T12:00:00+00:00", country=None, device="tablet")
    await insert_click(db, solo, ws, f"{days.today.isoformat()}T00:00:01+00:00")
    await _convert(client, tenant, paid, "o-1", "100.00", "EUR")
    await _convert(client, tenant, also, "o-2", "20.50", "EUR")
    await _convert(client, tenant, bob_click, "o-3", "15", "USD")
    return {"id": campaign_id, "ada": ada, "bob": bob, "solo": solo, "days": days}


def _row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["key"] == key)


async def test_link_stats(client: httpx.AsyncClient, tenant: Tenant, campaign: dict[str, Any]) -> None:
    days: Days = campaign["days"]
    response = await client.get(f"/v1/links/{campaign['ada']['id']}/stats", params=days.range, headers=tenant.read)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert (stats["from"], stats["to"]) == (days.range["from"], days.range["to"])
    assert stats["link_id"] == campaign["ada"]["id"]
    totals = stats["totals"]
    assert (totals["clicks"], totals["unique_clicks"], totals["bot_clicks"], totals["conversions"]) == (3, 2, 1, 2)
    assert totals["revenue"] == [{"currency": "EUR", "amount": "120.5000"}]
    assert totals["conversion_rate"] == pytest.approx(2 / 3, abs=1e-4)

    assert len(stats["by_day"]) == 30 and stats["by_day"][0]["key"] == days.range["from"]  # every day, zeros included
    day = _row(stats["by_day"], days.b)
    assert (day["clicks"], day["bot_clicks"], day["conversions"]) == (1, 1, 0)
    assert _row(stats["by_day"], days.range["from"])["clicks"] == 0
    france = _row(stats["by_country"], "FR")
    assert (france["clicks"], france["unique_clicks"], france["conversions"]) == (2, 1, 2)
    assert _row(stats["by_country"], "US")["bot_clicks"] == 1
    assert stats["by_country"][0]["key"] == "FR"  # most clicked first
    assert {r["key"] for r in stats["by_device"]} == {"mobile", "desktop", "bot"}
    assert _row(stats["by_referrer"], "direct")["clicks"] == 1
    assert _row(stats["by_referrer"], "instagram.com")["conversions"] == 2


async def test_campaign_stats_cover_its_creators_links(
    client: httpx.AsyncClient, tenant: Tenant, campaign: dict[str, Any]
) -> None:
    days: Days = campaign["days"]
    response = await client.get(f"/v1/campaigns/{campaign['id']}/stats", params=days.range, headers=tenant.read)
    assert response.status_code == 200, response.text
    totals = response.json()["totals"]
    assert (totals["clicks"], totals["bot_clicks"], totals["conversions"]) == (4, 1, 3)
    assert totals["revenue"] == [
        {"currency": "EUR", "amount": "120.5000"},
        {"currency": "USD", "amount": "15.0000"},
    ]
    assert _row(response.json()["by_country"], "unknown")["clicks"] == 1
    assert _row(response.json()["by_device"], "tablet")["conversions"] == 1


async def test_a_campaign_level_link_sums_its_creators_copies(
    db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant, campaign: dict[str, Any]
) -> None:
    days: Days = campaign["days"]
    template = {"id": str(uuid.uuid4())}
    await sql(
        db,
        "INSERT INTO tracking_links (id, workspace_id, campaign_id, kind, name, destination) "
        "VALUES (:id, :ws, :c, 'campaign', 'Template', 'https://shop.example/')",
        id=template["id"],
        ws=tenant.workspace_id,
        c=campaign["id"],
    )
    await sql(
        db,
        "UPDATE tracking_links SET parent_link_id = :t WHERE id IN (:a, :b)",
        t=template["id"],
        a=campaign["ada"]["id"],
        b=campaign["bob"]["id"],
    )
    stats = (await client.get(f"/v1/links/{template['id']}/stats", params=days.range, headers=tenant.read)).json()
    assert (stats["totals"]["clicks"], stats["totals"]["conversions"]) == (4, 3)


async def test_workspace_stats_per_link(client: httpx.AsyncClient, tenant: Tenant, campaign: dict[str, Any]) -> None:
    days: Days = campaign["days"]
    response = await client.get("/v1/stats/links", params=days.range, headers=tenant.read)
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert [r["link_id"] for r in rows] == [campaign["ada"]["id"], campaign["bob"]["id"], campaign["solo"]["id"]]
    assert [(r["clicks"], r["bot_clicks"], r["conversions"]) for r in rows] == [(3, 1, 2), (1, 0, 1), (1, 0, 0)]
    assert rows[1]["revenue"] == [{"currency": "USD", "amount": "15.0000"}] and rows[1]["conversion_rate"] == 1.0
    assert rows[2]["campaign_id"] is None and rows[2]["code"] == campaign["solo"]["code"]


async def test_date_range_filters(client: httpx.AsyncClient, tenant: Tenant, campaign: dict[str, Any]) -> None:
    days: Days = campaign["days"]
    one_day = {"from": days.b, "to": days.b}
    stats = (await client.get(f"/v1/links/{campaign['ada']['id']}/stats", params=one_day, headers=tenant.read)).json()
    assert (stats["totals"]["clicks"], stats["totals"]["bot_clicks"]) == (1, 1)
    assert [d["key"] for d in stats["by_day"]] == [days.b]
    october = {"from": days.before, "to": days.before}
    stats = (await client.get(f"/v1/links/{campaign['ada']['id']}/stats", params=october, headers=tenant.read)).json()
    assert stats["totals"]["clicks"] == 1 and stats["totals"]["conversion_rate"] == 0.0
    backwards = {"from": days.range["to"], "to": days.range["from"]}
    response = await client.get("/v1/stats/links", params=backwards, headers=tenant.read)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.from"
    default = (await client.get("/v1/stats/links", headers=tenant.read)).json()
    assert default["from"] < default["to"]


async def test_csv(client: httpx.AsyncClient, tenant: Tenant, campaign: dict[str, Any]) -> None:
    days: Days = campaign["days"]
    response = await client.get(
        f"/v1/campaigns/{campaign['id']}/stats", params={**days.range, "format": "csv"}, headers=tenant.read
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    total = rows[0]
    assert (total["breakdown"], total["clicks"], total["bot_clicks"], total["conversions"]) == ("total", "4", "1", "3")
    assert total["revenue"] == "120.5000 EUR; 15.0000 USD"
    assert {r["breakdown"] for r in rows} == {"total", "day", "country", "device", "referrer"}
    assert next(r for r in rows if r["breakdown"] == "country" and r["key"] == "FR")["clicks"] == "2"

    links = await client.get("/v1/stats/links", params={**days.range, "format": "csv"}, headers=tenant.read)
    table = list(csv.DictReader(io.StringIO(links.text)))
    assert (table[0]["link_id"], table[0]["clicks"]) == (campaign["ada"]["id"], "3")


async def test_other_workspaces_links_and_campaigns_are_not_found(
    client: httpx.AsyncClient, campaign: dict[str, Any], make_tenant
) -> None:  # type: ignore[no-untyped-def]
    other = await make_tenant("Other")
    assert (await client.get(f"/v1/links/{campaign['ada']['id']}/stats", headers=other.read)).status_code == 404
    assert (await client.get(f"/v1/campaigns/{campaign['id']}/stats", headers=other.read)).status_code == 404
    assert (await client.get("/v1/stats/links", headers=other.read)).json()["data"] == []
