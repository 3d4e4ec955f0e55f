"""The program report: per-creator totals across campaigns (sorted, paged, CSV), and the workspace's stats."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from loupe.kit.context import ProcessContext
from loupe.stats.schemas import CreatorSort
from loupe.stats.service import StatsService
from loupe.workspaces.auth import Principal
from tests.clicks.support import insert_click
from tests.conftest import Tenant
from tests.factories import campaign, creator_in, creator_link
from tests.stats.raw_reference import RawStatsRepository

pytestmark = pytest.mark.asyncio


def _ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat()


async def _convert(client: httpx.AsyncClient, tenant: Tenant, click_id: str, ref: str, **value: str) -> None:
    body = {"click_id": click_id, "event": "purchase", "external_id": ref, **value}
    assert (await client.post("/v1/conversions", json=body, headers=tenant.write)).status_code == 201


@pytest.fixture
async def program(db: ProcessContext, client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    """Ada has links in two campaigns, Bob in one, Cy's link has no click; every figure differs."""
    spring, summer = await campaign(client, tenant), await campaign(client, tenant, name="Summer")
    people: dict[str, dict[str, Any]] = {}
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, campaigns in [("Ada", [spring, summer]), ("Bob", [spring]), ("Cy", [summer])]:
        for i, each in enumerate(campaigns):
            person = people.get(name) or await creator_in(client, tenant, each["id"], name, stage="active")
            if i:
                await client.post(
                    f"/v1/campaigns/{each['id']}/creators",
                    json={"influencer_ids": [person["id"]]},
                    headers=tenant.write,
                )
            people[name] = person
            response = await creator_link(client, tenant, each["id"], person["id"])
            assert response.status_code == 201, response.text
            links[name].append(response.json())
    ws = tenant.workspace_id
    ada = [await insert_click(db, links["Ada"][i % 2], ws, _ago(2 + i)) for i in range(5)]
    await insert_click(db, links["Ada"][1], ws, _ago(3), bot=True)
    bob = [await insert_click(db, links["Bob"][0], ws, _ago(4), unique=i == 0) for i in range(2)]
    await _convert(client, tenant, ada[0], "a-1", value="30", currency="EUR")
    await _convert(client, tenant, ada[1], "a-2", value="5", currency="USD")
    await _convert(client, tenant, bob[0], "b-1", value="12.5", currency="EUR")
    await _convert(client, tenant, bob[1], "b-2")
    return {"people": people, "links": links}


async def _creators(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/stats/creators", params=params, headers=tenant.read)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_creators_sum_every_link_of_every_campaign(
    client: httpx.AsyncClient, tenant: Tenant, program: dict[str, Any]
) -> None:
    page = await _creators(client, tenant)
    rows = {r["name"]: r for r in page["data"]}
    assert [r["name"] for r in page["data"]] == ["Ada", "Bob", "Cy"] and page["has_more"] is False
    ada = rows["Ada"]
    assert (ada["links"], ada["campaigns"], ada["clicks"], ada["unique_clicks"], ada["bot_clicks"]) == (2, 2, 5, 5, 1)
    assert (ada["conversions"], ada["conversion_rate"]) == (2, 0.4)
    assert ada["revenue"] == [{"currency": "EUR", "amount": "30.0000"}, {"currency": "USD", "amount": "5.0000"}]
    bob = rows["Bob"]
    assert (bob["clicks"], bob["unique_clicks"], bob["conversions"], bob["conversion_rate"]) == (2, 1, 2, 1.0)
    assert bob["revenue"] == [{"currency": "EUR", "amount": "12.5000"}]
    assert (rows["Cy"]["clicks"], rows["Cy"]["conversion_rate"], rows["Cy"]["revenue"]) == (0, None, [])


async def test_creators_equal_the_raw_scan_of_their_links(
    db: ProcessContext, tenant: Tenant, program: dict[str, Any]
) -> None:
    principal = Principal(uuid.UUID(tenant.workspace_id), uuid.uuid4(), frozenset({"read"}))
    async with db.sessionmaker() as session:
        links = await StatsService(session, principal, RawStatsRepository).links(None, None)
        creators = [
            r async for r in StatsService(session, principal).all_creators(None, None, CreatorSort.clicks, "desc")
        ]
    expected: dict[uuid.UUID, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, defaultdict(Decimal)])
    for link in links.data:
        sums = expected[link.influencer_id]  # type: ignore[index]
        sums[0] += link.clicks
        sums[1] += link.unique_clicks
        sums[2] += link.bot_clicks
        sums[3] += link.conversions
        for revenue in link.revenue:
            sums[4][revenue.currency] += revenue.amount
    got = {r.influencer_id: [r.clicks, r.unique_clicks, r.bot_clicks, r.conversions, r.revenue] for r in creators}
    assert set(got) == set(expected)
    for influencer_id, (clicks, uniques, bots, conversions, revenue) in got.items():
        want = expected[influencer_id]
        assert [clicks, uniques, bots, conversions] == want[:4]
        assert {r.currency: r.amount for r in revenue} == dict(want[4])


@pytest.mark.parametrize(
    ("sort", "order", "names"),
    [
        ("clicks", "asc", ["Cy", "Bob", "Ada"]),
        ("unique_clicks", "desc", ["Ada", "Bob", "Cy"]),
        ("conversion_rate", "desc", ["Bob", "Ada", "Cy"]),  # without clicks, no rate: last
        ("name", "desc", ["Cy", "Bob", "Ada"]),
    ],
)
async def test_creators_sort_and_page_with_a_cursor(
    client: httpx.AsyncClient, tenant: Tenant, program: dict[str, Any], sort: str, order: str, names: list[str]
) -> None:
    seen, cursor = [], None
    while True:
        params = {"sort": sort, "order": order, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await _creators(client, tenant, **params)
        seen += [r["name"] for r in page["data"]]
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == names


async def test_a_cursor_of_another_order_or_made_up_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, program: dict[str, Any]
) -> None:
    cursor = (await _creators(client, tenant, limit=1))["next_cursor"]
    for params in [{"cursor": cursor, "sort": "name"}, {"cursor": "bm9wZQ"}, {"sort": "revenue"}]:
        response = await client.get("/v1/stats/creators", params=params, headers=tenant.read)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] in ("query.cursor", "query.sort")


async def _sent(app: Any, path: str, query: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for a GET (httpx's test transport would join the body's parts)."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in {**headers, "host": "loupe.test"}.items()],
        "client": ("203.0.113.9", 50000), "server": ("loupe.test", 80),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the client stays connected until the answer is complete
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_creators_csv_streams_every_creator_in_order(
    app: Any, client: httpx.AsyncClient, tenant: Tenant, program: dict[str, Any]
) -> None:
    sent = await _sent(app, "/v1/stats/creators", "format=csv&sort=clicks&limit=1", tenant.read)  # no pages
    assert sent[0]["status"] == 200 and (b"content-type", b"text/csv; charset=utf-8") in sent[0]["headers"]
    parts = [m["body"] for m in sent[1:] if m["type"] == "http.response.body" and m.get("body")]
    assert len(parts) == 4  # the header, then each creator as it is read: never the whole answer at once
    rows = list(csv.DictReader(io.StringIO(b"".join(parts).decode())))
    assert [r["name"] for r in rows] == ["Ada", "Bob", "Cy"]  # 5, 2 and 0 clicks
    assert rows[0]["revenue"] == "30.0000 EUR; 5.0000 USD" and rows[2]["conversion_rate"] == ""
    bad = await client.get("/v1/stats/creators", params={"format": "csv", "from": "2026-13-01"}, headers=tenant.read)
    assert bad.status_code == 422


async def test_workspace_stats_have_a_campaigns_breakdowns(
    client: httpx.AsyncClient, tenant: Tenant, program: dict[str, Any], make_tenant: Any
) -> None:
    stats = (await client.get("/v1/stats", headers=tenant.read)).json()
    assert (stats["totals"]["clicks"], stats["totals"]["bot_clicks"], stats["totals"]["conversions"]) == (7, 1, 4)
    assert len(stats["by_day"]) == 30 and {r["key"] for r in stats["by_device"]} == {"mobile", "bot"}
    response = await client.get("/v1/stats", params={"format": "csv"}, headers=tenant.read)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert (rows[0]["breakdown"], rows[0]["clicks"]) == ("total", "7")
    other = await make_tenant("Other")
    assert (await client.get("/v1/stats", headers=other.read)).json()["totals"]["clicks"] == 0
    assert (await _creators(client, other))["data"] == []
