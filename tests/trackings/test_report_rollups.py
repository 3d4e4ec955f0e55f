"""The report analytics read report_contents and roll-ups that triggers maintain: through every kind of change
to what they derive from, they answer exactly what the straight query over tracked_contents answers."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from loupe.accounts.models import AccountContent
from loupe.campaigns.stories.models import Story
from loupe.kit.context import ProcessContext
from loupe.trackings.analytics import ReportAnalytics, ReportFilters
from loupe.trackings.models import TrackedContent, TrackingProfile
from loupe.trackings.repository import MatchingRepository
from tests.conftest import Tenant
from tests.contract.support import insert_connected_account
from tests.trackings.report_reference import ReferenceAnalytics

pytestmark = pytest.mark.asyncio
NOW = datetime.now(UTC)
TODAY = datetime(NOW.year, NOW.month, NOW.day, tzinfo=UTC)
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = (THIS_MONTH - timedelta(days=1)).replace(day=1)


async def _world(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext) -> dict[str, Any]:
    """Trackings A and B (TikTok) and C (Instagram stories) of one report; a content both A and B collected,
    through a handle (A) and through the influencer Ada (B); four only A collected (one yesterday, two last
    month: on its 2nd and its 26th); a story C collected."""
    report = (await client.post("/v1/reports", json={"name": "R"}, headers=tenant.write)).json()
    trackings = {}
    for name, network in (("A", "tiktok"), ("B", "tiktok"), ("C", "instagram")):
        body = {"name": name, "network": network, "hashtags": ["x"], "start_date": NOW.date().isoformat()}
        answer = await client.post(f"/v1/reports/{report['id']}/trackings", json=body, headers=tenant.write)
        trackings[name] = uuid.UUID(answer.json()["id"])
    invite = (await client.post("/v1/invites", json={"name": "Ada", "email": "ada@example.com"},
                                headers=tenant.write)).json()  # fmt: skip
    _, first = await insert_connected_account(db, tenant.workspace_id, invite)
    ws, rid, ada = uuid.UUID(tenant.workspace_id), uuid.UUID(report["id"]), uuid.UUID(invite["influencer_id"])
    campaign = (await client.post("/v1/campaigns", json={"name": "Spring", "starts_on": NOW.date().isoformat()},
                                  headers=tenant.write)).json()  # fmt: skip
    async with db.sessionmaker() as session, session.begin():
        content = await session.get(AccountContent, uuid.UUID(first))
        assert content is not None
        content.metrics = {"likes": 3, "comments": 2, "views": 90, "reach": 70}
        second = AccountContent(connection_id=content.connection_id, platform="tiktok", platform_content_id="v2",
                                type="video", published_at=NOW - timedelta(days=1), caption="#x again",
                                metrics={"likes": 5, "comments": 1, "views": 50, "reach": 40})  # fmt: skip
        old = AccountContent(connection_id=content.connection_id, platform="tiktok", platform_content_id="v0",
                             type="video", published_at=LAST_MONTH + timedelta(days=25), caption="#x before",
                             metrics={"views": 10, "reach": 9})  # fmt: skip
        older = AccountContent(connection_id=content.connection_id, platform="tiktok", platform_content_id="v-1",
                               type="video", published_at=LAST_MONTH + timedelta(days=1), caption="#x long ago",
                               metrics={"views": 5})  # fmt: skip
        story = Story(workspace_id=ws, campaign_id=uuid.UUID(campaign["id"]), influencer_id=ada, posted_at=NOW,
                      text="#x story", media_path="s.png", media_content_type="image/png", media_size=1,
                      metrics={"views": 30, "reach": 25})  # fmt: skip
        by_handle = TrackingProfile(workspace_id=ws, tracking_id=trackings["A"], platform="tiktok",
                                    handle="ada.tiktok")  # fmt: skip
        by_person = TrackingProfile(workspace_id=ws, tracking_id=trackings["B"], platform="tiktok",
                                    handle="ada.tiktok", influencer_id=ada)  # fmt: skip
        session.add_all([second, old, older, story, by_handle, by_person])
        await session.flush()

        def tracked(tracking: str, profile: TrackingProfile | None, network: str, kind: str, at: datetime,
                    **source: Any) -> TrackedContent:  # fmt: skip
            return TrackedContent(workspace_id=ws, report_id=rid, tracking_id=trackings[tracking],
                                  profile_id=profile.id if profile else None, network=network, type=kind,
                                  published_at=at, matched_terms=[f"#{tracking.lower()}"], **source)  # fmt: skip

        session.add_all([
            tracked("A", by_handle, "tiktok", "video", content.published_at, content_id=content.id),
            tracked("B", by_person, "tiktok", "video", content.published_at, content_id=content.id),
            tracked("A", by_handle, "tiktok", "video", second.published_at, content_id=second.id),
            tracked("A", by_handle, "tiktok", "video", old.published_at, content_id=old.id),
            tracked("A", by_handle, "tiktok", "video", older.published_at, content_id=older.id),
            tracked("C", None, "instagram", "story", story.posted_at, story_id=story.id),
        ])  # fmt: skip
    return {"report": rid, "trackings": trackings, "first": content.id, "second": second.id, "story": story.id,
            "ada": ada, "profile": by_person.id, "connection": content.connection_id, "workspace": ws}  # fmt: skip


async def _assert_same(db: ProcessContext, world: dict[str, Any]) -> dict[str, Any]:
    """Every scope, date range and network: the summary and the contents equal the reference's."""
    scopes = [None, *world["trackings"].values()]
    # Ranges over every day there is, over days, and over months less some of their days (last month less its
    # first 2 days, less its last days).
    day = timedelta(days=1)
    spans = [(None, None), (TODAY, TODAY + day), (TODAY - day, TODAY + day), (LAST_MONTH, TODAY),
             (None, TODAY), (LAST_MONTH + 2 * day, None), (None, LAST_MONTH + 20 * day),
             (LAST_MONTH + 2 * day, THIS_MONTH)]  # fmt: skip
    async with db.sessionmaker() as session:
        ours = ReportAnalytics(session, world["workspace"])
        reference = ReferenceAnalytics(session, world["workspace"])
        for scope, (start, end), network in itertools.product(scopes, spans, [None, "tiktok"]):
            filters = ReportFilters(start=start, end=end, tracking_id=scope, network=network)
            assert await ours.summary(world["report"], filters) == await reference.summary(world["report"], filters)
            assert await ours.contents(world["report"], filters, None) == await reference.contents(
                world["report"], filters, None
            )
        emptied = "SELECT count(*) FROM report_period_rollups WHERE contents = 0"
        assert (await session.execute(text(emptied))).scalar() == 0  # a period row left empty goes at once
        return await ours.summary(world["report"], ReportFilters())


async def test_the_rollups_equal_the_reference_through_every_change(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    world = await _world(client, tenant, db)
    summary = await _assert_same(db, world)
    assert (summary["totals"]["contents"], summary["totals"]["stories"]) == (5, 1)

    async with db.sessionmaker() as session, session.begin():  # a new content, collected by B
        third = AccountContent(connection_id=world["connection"], platform="tiktok", platform_content_id="v3",
                               type="video", published_at=NOW - timedelta(hours=2), caption="#x",
                               metrics={"likes": 11, "shares": 4, "views": 7})  # fmt: skip
        session.add(third)
        await session.flush()
        session.add(TrackedContent(workspace_id=world["workspace"], report_id=world["report"],
                                   tracking_id=world["trackings"]["B"], profile_id=world["profile"],
                                   content_id=third.id, network="tiktok", type="video",
                                   published_at=third.published_at, matched_terms=["#x"]))  # fmt: skip
    assert (await _assert_same(db, world))["totals"]["likes"] == 3 + 5 + 11

    async with db.sessionmaker() as session, session.begin():  # a refresh rewrites the API metrics
        await session.execute(text("""UPDATE account_contents SET metrics = metrics || '{"likes": 8, "saves": 2}'"""))
    assert (await _assert_same(db, world))["totals"]["likes"] == 40  # replaced, not added: 8 for each of 5

    patched = await client.patch(f"/v1/contents/{world['first']}", json={"metrics": {"likes": 20}},
                                 headers=tenant.write)  # fmt: skip
    assert patched.status_code == 200, patched.text
    assert (await _assert_same(db, world))["totals"]["likes"] == 52  # by hand wins over the API

    async with db.sessionmaker() as session, session.begin():  # the override removed, the story edited
        await session.execute(text("DELETE FROM content_overrides"))
        await session.execute(text("""UPDATE stories SET metrics = '{"views": 31, "likes": 1}'"""))
    assert (await _assert_same(db, world))["totals"]["likes"] == 41

    renamed = await client.patch(f"/v1/influencers/{world['ada']}", json={"name": "Ada L."}, headers=tenant.write)
    assert renamed.status_code == 200, renamed.text
    await _assert_same(db, world)

    removed = await client.post(f"/v1/trackings/{world['trackings']['B']}/profiles/remove",
                                json={"profile_ids": [str(world["profile"])]}, headers=tenant.write)  # fmt: skip
    assert removed.status_code == 200, removed.text
    await _assert_same(db, world)  # B's contents now have no profile: their creator is unknown

    async with db.sessionmaker() as session, session.begin():  # a re-match of A keeps only the first content
        repo = MatchingRepository(session)
        tracking = await repo.tracking(world["trackings"]["A"])
        assert tracking is not None
        await repo.replace(tracking, [{"workspace_id": world["workspace"], "report_id": world["report"],
                                       "tracking_id": tracking.id, "profile_id": None, "network": "tiktok",
                                       "type": "video", "published_at": NOW - timedelta(hours=1),
                                       "matched_terms": ["#x", "#y"], "source": "content_id",
                                       "source_id": world["first"]}])  # fmt: skip
    summary = await _assert_same(db, world)
    assert summary["totals"]["contents"] == 3  # the second and the old contents left with A

    async with db.sessionmaker() as session, session.begin():  # a content the platform deleted
        await session.execute(text("DELETE FROM account_contents WHERE id = :id"), {"id": third.id})
    assert (await _assert_same(db, world))["totals"]["contents"] == 2

    deleted = await client.delete(f"/v1/trackings/{world['trackings']['A']}", headers=tenant.write)
    assert deleted.status_code == 204, deleted.text
    summary = await _assert_same(db, world)
    assert summary["totals"]["contents"] == 2 and summary["by_creator"][0]["key"] == "unknown"
    async with db.sessionmaker() as session:  # and nothing of the deleted tracking is left behind
        for table in ("report_contents", "report_creator_rollups", "report_day_rollups", "report_day_creators",
                      "report_period_rollups"):  # fmt: skip
            left = f"SELECT count(*) FROM {table} WHERE scope_id = :scope"
            assert (await session.execute(text(left), {"scope": world["trackings"]["A"]})).scalar() == 0
