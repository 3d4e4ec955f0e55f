"""Contents collected into trackings as the refresh stores them (live sandbox), by re-match, and stories
captured by hand: only the tracking's profiles, on its network, within its span, when a term matches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from loupe.accounts.models import AccountContent
from loupe.accounts.refresh import refresh_connection
from loupe.accounts.stories import poll_stories
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from loupe.trackings.matcher import Criteria
from loupe.trackings.matching import rematch_tracking
from loupe.trackings.repository import MatchingRepository
from tests import factories
from tests.accounts.test_refresh import connected, connection_of
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account
from tests.trackings.test_matcher import reference_match
from tests.trackings.test_trackings import today

pytestmark = pytest.mark.asyncio


async def _tracking(client: httpx.AsyncClient, tenant: Tenant, handle: str, **criteria: Any) -> dict[str, Any]:
    report = (await client.post("/v1/reports", json={"name": f"R {handle}"}, headers=tenant.write)).json()
    body = {"name": f"T {handle}", "network": "instagram", "start_date": today().isoformat(), **criteria}
    created = await client.post(f"/v1/reports/{report['id']}/trackings", json=body, headers=tenant.write)
    assert created.status_code == 201, created.text
    added = await client.post(f"/v1/trackings/{created.json()['id']}/profiles", json={"handles": [handle]},
                              headers=tenant.write)  # fmt: skip
    assert added.json()["added"] == 1
    return created.json()  # type: ignore[no-any-return]


async def _connected_instagram(client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox) -> Any:
    """The sandbox's third creator's Instagram account, connected to the tenant through an invite."""
    await connected(client, tenant, creator, sandbox, "instagram", who=2)
    return account(sandbox, "instagram", creator=2)


async def _kinds_and_terms(client: httpx.AsyncClient, tenant: Tenant, tracking_id: str) -> list[tuple[Any, ...]]:
    """Each tracked content's (type, matched terms, source), newest first."""
    answer = await client.get(f"/v1/trackings/{tracking_id}/contents", headers=tenant.read)
    return [(r["type"], r["matched_terms"], r["content"]["source"]) for r in answer.json()["data"]]


async def _tracked(client: httpx.AsyncClient, tenant: Tenant, tracking_id: str) -> dict[str, list[str]]:
    answer = await client.get(f"/v1/trackings/{tracking_id}/contents?limit=200", headers=tenant.read)
    assert answer.status_code == 200, answer.text
    return {row["content"]["caption"]: sorted(row["matched_terms"]) for row in answer.json()["data"]}


async def _expected(ctx: ProcessContext, tracking: dict[str, Any]) -> dict[str, list[str]]:
    """What the slow reference says the tracking should hold among the stored contents."""
    criteria = Criteria(tracking["id"], tuple(tracking["hashtags"]), tuple(tracking["mentions"]),
                        tuple(tracking["keywords"]))  # fmt: skip
    async with ctx.sessionmaker() as session:
        contents = (await session.execute(select(AccountContent))).scalars().all()
    start = datetime.fromisoformat(tracking["start_date"]).date()
    found = {}
    for c in contents:
        text = "\n".join(p for p in (c.title, c.caption) if p)
        terms = reference_match([criteria], text).get(tracking["id"])
        if terms and (c.published_at or c.created_at).date() >= start:
            found[c.caption] = sorted(terms)
    return found


async def test_refresh_collects_what_matches_and_rematch_applies_edits(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: Any,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
) -> None:
    ig = await _connected_instagram(client, tenant, creator, sandbox)
    tracking = await _tracking(client, tenant, f"@{ig.username}", hashtags=["#LoupeTest"], keywords=["Crème Brûlée"])
    stranger = await make_tenant("No grant")
    theirs = await _tracking(client, stranger, f"instagram.com/{ig.username}/", hashtags=["LoupeTest"])
    for text in ("Launch day #LoupeTest🚀", "Best CREME-brulee in town!!", "#LoupeTestParty only", "nothing here"):
        sandbox.world.publish(ig, sandbox.now(), "post", text)

    connection = await connection_of(connect_ctx)
    assert "failed" not in await refresh_connection({"process": connect_ctx, "job_try": 1}, str(connection.id))
    tracked = await _tracked(client, tenant, tracking["id"])
    assert tracked["Launch day #LoupeTest🚀"] == ["#loupetest"]
    assert tracked["Best CREME-brulee in town!!"] == ["creme brulee"]
    assert "#LoupeTestParty only" not in tracked and "nothing here" not in tracked
    assert tracked == await _expected(connect_ctx, tracking)
    assert await _tracked(client, stranger, theirs["id"]) == {}  # no grant of that account: nothing collected

    edited = await client.patch(f"/v1/trackings/{tracking['id']}", json={"hashtags": ["LoupeTestParty"],
                                "keywords": []}, headers=tenant.write)  # fmt: skip
    assert edited.status_code == 200
    assert await _tracked(client, tenant, tracking["id"]) == tracked  # edits apply from then on
    queued = await client.post(f"/v1/trackings/{tracking['id']}/rematch", headers=tenant.write)
    assert queued.status_code == 202 and queued.json()["job_id"] == f"rematch:{tracking['id']}"
    with pytest.MonkeyPatch.context() as patch:  # a rematch that fails once its rows are replaced...
        replace = MatchingRepository.replace

        async def replace_then_fail(self: MatchingRepository, *args: Any) -> Any:
            await replace(self, *args)
            raise ConnectionError("the worker lost the database")

        patch.setattr(MatchingRepository, "replace", replace_then_fail)
        with pytest.raises(ConnectionError):
            await rematch_tracking({"process": connect_ctx}, tracking["id"])
    assert await _tracked(client, tenant, tracking["id"]) == tracked  # ...leaves the contents as they were
    await rematch_tracking({"process": connect_ctx}, tracking["id"])
    rematched = await _tracked(client, tenant, tracking["id"])
    assert rematched["#LoupeTestParty only"] == ["#loupetestparty"]
    assert "Launch day #LoupeTest🚀" not in rematched
    assert rematched == await _expected(connect_ctx, edited.json())

    # Unfollowing the profile keeps what was collected from it (the report's history); new posts stop.
    profiles = (await client.get(f"/v1/trackings/{tracking['id']}/profiles", headers=tenant.read)).json()["data"]
    removed = await client.post(
        f"/v1/trackings/{tracking['id']}/profiles/remove",
        json={"profile_ids": [p["id"] for p in profiles]},
        headers=tenant.write,
    )
    assert removed.json() == {"removed": 1}
    assert await _tracked(client, tenant, tracking["id"]) == rematched
    sandbox.world.publish(ig, sandbox.now(), "post", "After #LoupeTestParty")
    assert "failed" not in await refresh_connection({"process": connect_ctx, "job_try": 1}, str(connection.id))
    assert await _tracked(client, tenant, tracking["id"]) == rematched


async def test_contents_outside_the_span_or_of_other_profiles_are_left_out(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    ig = await _connected_instagram(client, tenant, creator, sandbox)
    tomorrow = await _tracking(client, tenant, ig.username, hashtags=["LoupeTest"])
    moved = await client.patch(f"/v1/trackings/{tomorrow['id']}", json={"start_date": (today() + timedelta(days=1))
                               .isoformat()}, headers=tenant.write)  # fmt: skip
    assert moved.status_code == 200
    elsewhere = await _tracking(client, tenant, "someone.else", hashtags=["LoupeTest"])
    sandbox.world.publish(ig, sandbox.now(), "post", "today #LoupeTest")
    connection = await connection_of(connect_ctx)
    await refresh_connection({"process": connect_ctx, "job_try": 1}, str(connection.id))
    assert await _tracked(client, tenant, tomorrow["id"]) == {}
    assert await _tracked(client, tenant, elsewhere["id"]) == {}


async def test_stories_captured_by_hand_match_on_their_text(client: httpx.AsyncClient, tenant: Tenant) -> None:
    camp = await factories.campaign(client, tenant, story_capture=True)
    ada = await factories.creator_in(client, tenant, camp["id"], "Ada", "active")
    await client.patch(f"/v1/influencers/{ada['id']}", json={"profiles": [{"platform": "instagram",
                       "handle": "ada.stories"}]}, headers=tenant.write)  # fmt: skip
    tracking = await _tracking(client, tenant, "ada.stories", keywords=["spring sale"])
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
    for text in ("Our SPRING sale ✨ starts", "Nothing to see"):
        stored = await client.post(
            f"/v1/campaigns/{camp['id']}/creators/{ada['id']}/stories",
            data={"posted_at": datetime.now(UTC).isoformat(), "text": text},
            files={"media": ("story.png", png, "image/png")},
            headers=tenant.write,
        )
        assert stored.status_code == 201, stored.text
    assert await _kinds_and_terms(client, tenant, tracking["id"]) == [("story", ["spring sale"], "manual")]


async def test_instagram_stories_from_the_api_match_on_their_text(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    ig = await _connected_instagram(client, tenant, creator, sandbox)
    tracking = await _tracking(client, tenant, ig.username, mentions=["LoupeBrand"])
    sandbox.world.publish(ig, sandbox.now(), "story", "Swipe up @loupebrand ✨")
    sandbox.world.publish(ig, sandbox.now(), "story", "A story about nothing")
    assert (await poll_stories({"process": connect_ctx}))["failed"] == 0
    assert await _kinds_and_terms(client, tenant, tracking["id"]) == [("story", ["@loupebrand"], "api")]


async def test_the_last_day_of_the_span_is_tracked_to_its_last_second(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    ig = await _connected_instagram(client, tenant, creator, sandbox)
    tracking = await _tracking(client, tenant, ig.username, hashtags=["LoupeTest"], end_date=today().isoformat())
    assert tracking["start_date"] == tracking["end_date"] == today().isoformat()  # a one-day span
    # The platform's lists end at its "now", so the span's edges are stored as a refresh would store them.
    last_second = datetime.combine(today(), datetime.max.time(), UTC).replace(microsecond=0)
    connection = await connection_of(connect_ctx)
    async with connect_ctx.sessionmaker() as session, session.begin():
        for n, (published, text) in enumerate(
            ((last_second, "last second #LoupeTest"), (last_second + timedelta(seconds=1), "next day #LoupeTest"))
        ):
            session.add(
                AccountContent(
                    connection_id=connection.id,
                    platform="instagram",
                    type="post",
                    platform_content_id=f"edge-{n}",
                    published_at=published,
                    caption=text,
                )
            )
    await rematch_tracking({"process": connect_ctx}, tracking["id"])
    assert await _tracked(client, tenant, tracking["id"]) == {"last second #LoupeTest": ["#loupetest"]}
