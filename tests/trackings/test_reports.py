"""Report analytics: summary figures, breakdowns and top contents, contents as JSON and CSV."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from loupe.accounts.models import AccountContent
from loupe.kit.context import ProcessContext
from loupe.trackings.models import TrackedContent
from tests.conftest import Tenant
from tests.contract.support import insert_connected_account

pytestmark = pytest.mark.asyncio
NOW = datetime.now(UTC)


async def _setup(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext) -> dict[str, Any]:
    report = (await client.post("/v1/reports", json={"name": "R"}, headers=tenant.write)).json()
    trackings = []
    for name in ("A", "B"):
        body = {"name": name, "network": "tiktok", "hashtags": ["x"], "start_date": NOW.date().isoformat()}
        trackings.append((await client.post(f"/v1/reports/{report['id']}/trackings", json=body,
                                            headers=tenant.write)).json())  # fmt: skip
    invite = (await client.post("/v1/invites", json={"name": "Ada", "email": "ada@example.com"},
                                headers=tenant.write)).json()  # fmt: skip
    _, first = await insert_connected_account(db, tenant.workspace_id, invite)
    async with db.sessionmaker() as session, session.begin():
        content = await session.get(AccountContent, uuid.UUID(first))
        assert content is not None
        second = AccountContent(connection_id=content.connection_id, platform="tiktok", platform_content_id="v2",
                                type="video", published_at=NOW - timedelta(days=1), caption="=SUM(A1) #x",
                                metrics={"likes": 5, "comments": 1, "views": 50, "reach": 40})  # fmt: skip
        session.add(second)
        await session.flush()
        rows = [(trackings[0], content), (trackings[1], content), (trackings[0], second)]
        for tracking, item in rows:  # the first content is in both trackings: it counts once in the report
            session.add(TrackedContent(workspace_id=uuid.UUID(tenant.workspace_id), report_id=uuid.UUID(report["id"]),
                                       tracking_id=uuid.UUID(tracking["id"]), content_id=item.id, network="tiktok",
                                       type="video", published_at=item.published_at, matched_terms=["#x"]))  # fmt: skip
    return {"report": report, "trackings": trackings, "first": first}


async def test_summary_counts_each_content_once_with_manual_metrics_first(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    world = await _setup(client, tenant, db)
    patched = await client.patch(
        f"/v1/contents/{world['first']}", json={"metrics": {"likes": 20}}, headers=tenant.write
    )
    assert patched.status_code == 200
    rid = world["report"]["id"]
    answer = await client.get(f"/v1/reports/{rid}/summary", headers=tenant.read)
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    totals = summary["totals"]
    assert (totals["contents"], totals["creators"], totals["networks"], totals["stories"]) == (2, 1, 1, 0)
    assert (totals["likes"], totals["comments"], totals["views"], totals["reach"]) == (25, 1, 150, 40)
    assert totals["engagements"] == 26 and totals["engagement_rate"] == round(26 / 40, 6)
    assert [(d["key"], d["contents"]) for d in summary["by_day"]] == [
        ((NOW - timedelta(days=1)).date().isoformat(), 1),
        ((NOW - timedelta(hours=1)).date().isoformat(), 1),
    ] or len(summary["by_day"]) == 1  # both may fall on one UTC day just after midnight
    assert [(b["key"], b["contents"]) for b in summary["by_network"]] == [("tiktok", 2)]
    assert [t["likes"] for t in summary["top_contents"]] == [20, 5]

    only_b = (await client.get(f"/v1/reports/{rid}/summary?tracking_id={world['trackings'][1]['id']}",
                               headers=tenant.read)).json()  # fmt: skip
    assert only_b["totals"]["contents"] == 1
    none = (await client.get(f"/v1/reports/{rid}/summary?network=youtube", headers=tenant.read)).json()
    assert none["totals"]["contents"] == 0 and none["totals"]["engagement_rate"] is None


async def test_contents_page_and_csv(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext) -> None:
    world = await _setup(client, tenant, db)
    rid = world["report"]["id"]
    first = (await client.get(f"/v1/reports/{rid}/contents?limit=1", headers=tenant.read)).json()
    assert len(first["data"]) == 1 and first["has_more"]
    rest = (await client.get(f"/v1/reports/{rid}/contents?limit=1&cursor={first['next_cursor']}",
                             headers=tenant.read)).json()  # fmt: skip
    assert len(rest["data"]) == 1 and not rest["has_more"]
    assert rest["data"][0]["content_id"] != first["data"][0]["content_id"]
    exported = await client.get(f"/v1/reports/{rid}/contents?format=csv", headers=tenant.read)
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().split("\r\n")
    assert lines[0].startswith("published_at,network,type") and len(lines) == 3
    assert "'=SUM(A1) #x" in exported.text  # a formula is never run by a spreadsheet


async def test_another_workspace_sees_no_report(client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any,
                                                db: ProcessContext) -> None:  # fmt: skip
    world = await _setup(client, tenant, db)
    other = await make_tenant("Other")
    rid = world["report"]["id"]
    assert (await client.get(f"/v1/reports/{rid}/summary", headers=other.read)).status_code == 404
    assert (await client.get(f"/v1/reports/{rid}/contents", headers=other.read)).status_code == 404
