"""The account data API, on data from real refreshes against the live sandbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from arq.jobs import Job
from sqlalchemy import update

from loupe.accounts.jobs import refresh_job_id
from loupe.accounts.refresh import refresh_connection
from loupe.accounts.service import percentages
from loupe.connections.models import Connection, Grant
from loupe.kit.context import ProcessContext
from loupe.kit.embedded import free_port
from loupe.kit.jobs import QUEUE_NAME, create_job_pool, deserialize
from loupe.sandbox.state import Sandbox
from tests.accounts.test_refresh import connected, connection_of
from tests.conftest import Tenant
from tests.connections.conftest import Creator


async def refreshed(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    ctx: ProcessContext,
    platform: str = "instagram",
) -> tuple[dict[str, Any], str, Connection]:
    """A connected account of `tenant`, refreshed once as the worker does it: (invite, account id, connection)."""
    sent, account_id = await connected(client, tenant, creator, sandbox, platform, who=2)
    connection = await connection_of(ctx)
    result = await refresh_connection({"process": ctx, "job_try": 1}, str(connection.id))
    assert "failed" not in result and result["contents"] > 0, result
    return sent, account_id, connection


async def get(client: httpx.AsyncClient, url: str, tenant: Tenant, status: int = 200, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=tenant.read)
    assert response.status_code == status, response.text
    return response.json()


async def every_page(client: httpx.AsyncClient, url: str, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await get(client, url, tenant, **params, **({"cursor": cursor} if cursor else {}))
        items += page["data"]
        assert page["has_more"] is (page["next_cursor"] is not None)
        if not page["has_more"]:
            return items
        cursor = page["next_cursor"]


def published(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(item["published_at"])


async def set_grant_status(ctx: ProcessContext, account_id: str, status: str) -> None:
    async with ctx.sessionmaker() as session, session.begin():
        await session.execute(update(Grant).where(Grant.id == uuid.UUID(account_id)).values(status=status))


async def test_profile_history_and_audience_after_a_refresh(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    _, account_id, _ = await refreshed(client, tenant, creator, sandbox, connect_ctx)
    base = f"/v1/connected-accounts/{account_id}"
    profile = await get(client, base + "/profile", tenant)
    assert profile["connected_account_id"] == account_id and profile["platform"] == "instagram"
    assert profile["status"] == "active" and profile["username"]
    assert isinstance(profile["followers"], int) and isinstance(profile["extras"], dict)
    assert profile["last_refreshed_at"] is not None

    history = await get(client, base + "/profile/history", tenant)
    assert len(history["data"]) == 1 and history["has_more"] is False
    snapshot = history["data"][0]
    assert snapshot["followers"] == profile["followers"]
    day = date.fromisoformat(snapshot["taken_on"])
    assert (
        len((await get(client, base + "/profile/history", tenant, **{"from": str(day), "to": str(day)}))["data"]) == 1
    )
    after = date.fromordinal(day.toordinal() + 1)
    assert (await get(client, base + "/profile/history", tenant, **{"from": str(after)}))["data"] == []

    audience = await get(client, base + "/audience", tenant)
    assert audience["available"] is True and audience["refreshed_at"] is not None
    for name in ("countries", "cities", "ages", "genders"):
        shares = audience[name]
        assert shares, name
        assert round(sum(s["percent"] for s in shares), 2) == 100.0, (name, shares)
        assert all(0 <= s["percent"] <= 100 for s in shares)
    for name in ("countries", "cities"):
        keys = [s["key"] for s in audience[name]]
        assert len([k for k in keys if k != "others"]) <= 3
        assert "others" not in keys[:-1], keys  # "others" comes last
        top = [s["percent"] for s in audience[name] if s["key"] != "others"]
        assert top == sorted(top, reverse=True)


async def test_profile_before_the_first_refresh_is_200_with_nulls(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    _, account_id = await connected(client, tenant, creator, sandbox, "tiktok")
    base = f"/v1/connected-accounts/{account_id}"
    profile = await get(client, base + "/profile", tenant)
    assert profile["last_refreshed_at"] is None and profile["followers"] is None and profile["username"]
    audience = await get(client, base + "/audience", tenant)
    assert audience["available"] is False and audience["countries"] == [] and audience["refreshed_at"] is None
    assert (await get(client, base + "/contents", tenant))["data"] == []
    assert (await get(client, base + "/profile/history", tenant))["data"] == []


def test_percentages_sum_to_100_from_fractions_or_counts() -> None:
    thirds = percentages({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    assert sum(s.percent for s in thirds) == 100.0 and {s.percent for s in thirds} == {33.33, 33.34}
    shares = percentages({"others": 0.5, "US": 0.3, "GB": 0.2})
    assert [(s.key, s.percent) for s in shares] == [("US", 30.0), ("GB", 20.0), ("others", 50.0)]
    assert [s.key for s in percentages({"25-34": 20, "13-17": 5, "18-24": 75}, by_key=True)] == [
        "13-17",
        "18-24",
        "25-34",
    ]
    assert percentages({}) == [] and percentages({"x": 0}) == []


async def test_contents_newest_first_paged_and_filtered(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    sent, account_id, _ = await refreshed(client, tenant, creator, sandbox, connect_ctx)
    url = f"/v1/connected-accounts/{account_id}/contents"
    everything = (await get(client, url, tenant, limit=200))["data"]
    assert len(everything) > 2
    assert [published(c) for c in everything] == sorted((published(c) for c in everything), reverse=True)
    first = everything[0]
    assert first["connected_account_id"] == account_id and first["influencer_id"] == sent["influencer_id"]
    assert first["platform"] == "instagram" and first["permalink"] and first["type"]
    assert set(first["metrics"]) == {"likes", "comments", "shares", "saves", "views", "reach", "impressions"}
    assert any(c["metrics"]["likes"] is not None for c in everything)
    assert first["metrics_source"] == "api" and set(first["manual_metrics"].values()) == {None}
    assert isinstance(first["media"], list)

    paged = await every_page(client, url, tenant, limit=2)
    assert [c["id"] for c in paged] == [c["id"] for c in everything]

    kinds = {c["type"] for c in everything}
    for kind in kinds:
        only = await every_page(client, url, tenant, type=kind, limit=200)
        assert only and {c["type"] for c in only} == {kind}
        assert len(only) == sum(c["type"] == kind for c in everything)

    day = published(everything[len(everything) // 2]).date()
    that_day = await every_page(client, url, tenant, **{"from": str(day), "to": str(day)})
    assert that_day and {published(c).date() for c in that_day} == {day}
    assert len(that_day) == sum(published(c).date() == day for c in everything)
    since = await every_page(client, url, tenant, **{"from": str(day)}, limit=200)
    assert len(since) == sum(published(c).date() >= day for c in everything)


async def test_manual_metrics_are_kept_across_refreshes_and_per_workspace(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: Any,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
) -> None:
    _, account_id, connection = await refreshed(client, tenant, creator, sandbox, connect_ctx)
    contents = (await get(client, f"/v1/connected-accounts/{account_id}/contents", tenant))["data"]
    content = contents[0]
    api_likes = content["metrics"]["likes"]
    response = await client.patch(
        f"/v1/contents/{content['id']}", json={"metrics": {"impressions": 24100, "likes": 7}}, headers=tenant.write
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["manual_metrics"]["impressions"] == 24100 and body["manual_metrics"]["likes"] == 7
    assert body["metrics_source"] == "manual" and body["metrics"]["likes"] == api_likes

    # Only the fields sent change; null clears one.
    response = await client.patch(
        f"/v1/contents/{content['id']}", json={"metrics": {"likes": None, "saves": 3}}, headers=tenant.write
    )
    assert response.status_code == 200, response.text
    manual = response.json()["manual_metrics"]
    assert (manual["impressions"], manual["likes"], manual["saves"]) == (24100, None, 3)

    again = await refresh_connection({"process": connect_ctx, "job_try": 1}, str(connection.id))
    assert "failed" not in again
    after = next(
        c
        for c in (await get(client, f"/v1/connected-accounts/{account_id}/contents", tenant, limit=200))["data"]
        if c["id"] == content["id"]
    )
    assert after["manual_metrics"]["impressions"] == 24100 and after["manual_metrics"]["saves"] == 3
    assert after["metrics_source"] == "manual"

    # Clearing every field returns the content to the API's values.
    response = await client.patch(
        f"/v1/contents/{content['id']}", json={"metrics": {"impressions": None, "saves": None}}, headers=tenant.write
    )
    assert response.json()["metrics_source"] == "api"

    # Another workspace cannot see nor set them.
    rival: Tenant = await make_tenant("Rival")
    response = await client.patch(f"/v1/contents/{content['id']}", json={"metrics": {"likes": 1}}, headers=rival.write)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metrics": {"followers": 3}}, "body.metrics.followers"),
        ({"metrics": {"likes": -1}}, "body.metrics.likes"),
        ({"metrics": {"likes": "many"}}, "body.metrics.likes"),
        ({"metrics": {"likes": 1.5}}, "body.metrics.likes"),
        ({}, "body.metrics"),
        ({"metrics": {"likes": 1}, "source": "api"}, "body.source"),
    ],
)
async def test_manual_metrics_refuse_bad_input(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.patch(f"/v1/contents/{uuid.uuid4()}", json=body, headers=tenant.write)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_campaign_contents_of_its_creators_within_its_dates(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    sent, account_id, _ = await refreshed(client, tenant, creator, sandbox, connect_ctx)
    influencer_id = sent["influencer_id"]
    everything = (await get(client, f"/v1/connected-accounts/{account_id}/contents", tenant, limit=200))["data"]
    middle = published(everything[len(everything) // 2]).date()

    async def campaign(**dates: str) -> str:
        response = await client.post("/v1/campaigns", json={"name": "Spring", **dates}, headers=tenant.write)
        assert response.status_code == 201, response.text
        cid: str = response.json()["id"]
        response = await client.post(
            f"/v1/campaigns/{cid}/creators", json={"influencer_ids": [influencer_id]}, headers=tenant.write
        )
        assert response.status_code == 200, response.text
        return cid

    async def promote(cid: str) -> None:
        response = await client.patch(
            f"/v1/campaigns/{cid}/creators/{influencer_id}", json={"stage": "approved"}, headers=tenant.write
        )
        assert response.status_code == 200, response.text

    open_ended = await campaign(starts_on="2000-01-01")
    url = f"/v1/campaigns/{open_ended}/contents"
    assert (await get(client, url, tenant))["data"] == []  # still "applied": not part of it yet
    await promote(open_ended)
    listed = await every_page(client, url, tenant, limit=3)
    assert [c["id"] for c in listed] == [c["id"] for c in everything]

    bounded = await campaign(starts_on=str(middle), ends_on=str(middle))
    await promote(bounded)
    within = await every_page(client, f"/v1/campaigns/{bounded}/contents", tenant)
    assert within and {published(c).date() for c in within} == {middle}
    later = await campaign(starts_on=str(middle))
    await promote(later)
    since = await every_page(client, f"/v1/campaigns/{later}/contents", tenant, limit=200)
    assert len(since) == sum(published(c).date() >= middle for c in everything)

    kind = everything[0]["type"]
    assert {c["type"] for c in await every_page(client, url, tenant, type=kind)} == {kind}
    assert len(await every_page(client, url, tenant, platform="instagram")) == len(everything)
    assert (await get(client, url, tenant, platform="tiktok"))["data"] == []
    assert len(await every_page(client, url, tenant, influencer_id=influencer_id)) == len(everything)
    assert (await get(client, url, tenant, influencer_id=str(uuid.uuid4())))["data"] == []


async def test_a_disconnected_account_keeps_its_data_but_cannot_be_refreshed(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    _, account_id, _ = await refreshed(client, tenant, creator, sandbox, connect_ctx)
    await set_grant_status(connect_ctx, account_id, "disconnected")
    base = f"/v1/connected-accounts/{account_id}"
    profile = await get(client, base + "/profile", tenant)
    assert profile["status"] == "disconnected" and profile["followers"] is not None
    assert (await get(client, base + "/contents", tenant))["data"]
    response = await client.post(base + "/refresh", headers=tenant.write)
    assert response.status_code == 409, response.text
    assert "reconnect" in response.json()["detail"]
    for status in ("expired", "revoked"):
        await set_grant_status(connect_ctx, account_id, status)
        response = await client.post(base + "/refresh", headers=tenant.write)
        assert response.status_code == 409 and "must reconnect" in response.json()["detail"], response.text


async def test_refresh_on_demand_is_queued_once(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    _, account_id = await connected(client, tenant, creator, sandbox, "youtube")
    connection = await connection_of(connect_ctx)
    job_id = refresh_job_id(connection.id)
    url = f"/v1/connected-accounts/{account_id}/refresh"
    try:
        response = await client.post(url, headers=tenant.write)
        assert response.status_code == 202, response.text
        assert response.json() == {"queued": True}
        job = Job(job_id, connect_ctx.arq, _queue_name=QUEUE_NAME, _deserializer=deserialize)
        info = await job.info()
        assert info is not None and info.function == "refresh_connection"
        assert info.kwargs == {"connection_id": str(connection.id)}
        response = await client.post(url, headers=tenant.write)
        assert response.status_code == 202 and response.json() == {"queued": False}, response.text
    finally:
        await connect_ctx.arq.delete(f"arq:job:{job_id}")
        await connect_ctx.arq.zrem(QUEUE_NAME, job_id)


async def test_refresh_on_demand_answers_503_while_redis_is_unreachable(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, account_id = await connected(client, tenant, creator, sandbox, "youtube")
    url = f"/v1/connected-accounts/{account_id}/refresh"
    nothing_there = await create_job_pool(f"redis://127.0.0.1:{free_port()}/0")  # a Redis that went away
    monkeypatch.setattr(connect_ctx, "arq", nothing_there)
    response = await client.post(url, headers=tenant.write)
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert "Redis is unreachable" in response.json()["detail"]
    monkeypatch.undo()  # Redis is back
    try:
        response = await client.post(url, headers=tenant.write)
        assert response.status_code == 202 and response.json() == {"queued": True}, response.text
    finally:
        job_id = refresh_job_id((await connection_of(connect_ctx)).id)
        await connect_ctx.arq.delete(f"arq:job:{job_id}")
        await connect_ctx.arq.zrem(QUEUE_NAME, job_id)


async def test_read_only_key_cannot_write_and_other_workspaces_get_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: Any,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
) -> None:
    _, account_id, _ = await refreshed(client, tenant, creator, sandbox, connect_ctx, platform="tiktok")
    content_id = (await get(client, f"/v1/connected-accounts/{account_id}/contents", tenant))["data"][0]["id"]
    base = f"/v1/connected-accounts/{account_id}"
    response = await client.post(base + "/refresh", headers=tenant.read)
    assert response.status_code == 403, response.text
    response = await client.patch(f"/v1/contents/{content_id}", json={"metrics": {"likes": 1}}, headers=tenant.read)
    assert response.status_code == 403, response.text

    rival: Tenant = await make_tenant("Rival")
    for path in ("/profile", "/profile/history", "/audience", "/contents"):
        await get(client, base + path, rival, status=404)
    response = await client.post(base + "/refresh", headers=rival.write)
    assert response.status_code == 404, response.text
    await get(client, f"/v1/campaigns/{uuid.uuid4()}/contents", tenant, status=404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-02", "to": "2026-03-01"}, "query.from"),
        ({"from": "yesterday"}, "query.from"),
        ({"type": "hologram"}, "query.type"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"limit": 0}, "query.limit"),
    ],
)
async def test_contents_refuse_bad_queries(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    params: dict[str, Any],
    field: str,
) -> None:
    _, account_id = await connected(client, tenant, creator, sandbox, "twitch")
    body = await get(client, f"/v1/connected-accounts/{account_id}/contents", tenant, status=422, **params)
    assert field in [e["field"] for e in body["errors"]]


async def test_history_and_campaign_contents_refuse_bad_queries(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    _, account_id = await connected(client, tenant, creator, sandbox, "twitch")
    body = await get(client, f"/v1/connected-accounts/{account_id}/profile/history", tenant, status=422, cursor="e30")
    assert [e["field"] for e in body["errors"]] == ["query.cursor"]
    response = await client.post(
        "/v1/campaigns", json={"name": "Spring", "starts_on": "2026-01-01"}, headers=tenant.write
    )
    cid = response.json()["id"]
    body = await get(client, f"/v1/campaigns/{cid}/contents", tenant, status=422, platform="myspace")
    assert [e["field"] for e in body["errors"]] == ["query.platform"]
    body = await get(client, f"/v1/campaigns/{cid}/contents", tenant, status=422, influencer_id="ada")
    assert [e["field"] for e in body["errors"]] == ["query.influencer_id"]


async def test_campaign_timeline_holds_api_contents_and_stories_captured_by_hand(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
    make_tenant: Any,
) -> None:
    from datetime import UTC

    from tests.contract.support import PNG

    sent, account_id, _ = await refreshed(client, tenant, creator, sandbox, connect_ctx)
    influencer_id = sent["influencer_id"]
    everything = await every_page(client, f"/v1/connected-accounts/{account_id}/contents", tenant, limit=200)
    made = await client.post(
        "/v1/campaigns",
        json={"name": "Stories", "starts_on": "2000-01-01", "story_capture": True},
        headers=tenant.write,
    )
    cid = made.json()["id"]
    await client.post(f"/v1/campaigns/{cid}/creators", json={"influencer_ids": [influencer_id]}, headers=tenant.write)
    await client.patch(
        f"/v1/campaigns/{cid}/creators/{influencer_id}", json={"stage": "approved"}, headers=tenant.write
    )
    captured = []
    for views in ("80", "120"):  # captured while the toggle is on (capture is never retroactive)
        posted = datetime.now(UTC).isoformat()
        response = await client.post(
            f"/v1/campaigns/{cid}/creators/{influencer_id}/stories",
            data={"posted_at": posted, "views": views},
            files={"media": ("story.png", PNG, "image/png")},
            headers=tenant.write,
        )
        assert response.status_code == 201, response.text
        captured.append(response.json()["id"])
    url = f"/v1/campaigns/{cid}/contents"
    timeline = await every_page(client, url, tenant, limit=3)  # pages cross both sources
    assert len(timeline) == len(everything) + 2 and len({c["id"] for c in timeline}) == len(timeline)
    assert [published(c) for c in timeline] == sorted((published(c) for c in timeline), reverse=True)
    manual = [c for c in timeline if c["source"] == "manual"]
    assert [c["id"] for c in manual] == captured[::-1]  # newest first
    assert manual[0]["connected_account_id"] is None and manual[0]["manual_metrics"]["views"] == 120
    assert manual[0]["type"] == "story" and manual[0]["metrics_source"] == "manual"
    media = await client.get(manual[0]["media"][0]["url"], headers=tenant.read)
    assert media.status_code == 200 and media.content == PNG
    assert {c["source"] for c in timeline} == {"api", "manual"}
    stories_only = await every_page(client, url, tenant, type="story")
    assert {c["id"] for c in manual} <= {c["id"] for c in stories_only}
    assert all(c["source"] == "api" for c in await every_page(client, url, tenant, type=everything[0]["type"]))
    assert (await get(client, url, tenant, platform="tiktok"))["data"] == []
    assert (await get(client, url, tenant, influencer_id=str(uuid.uuid4())))["data"] == []
    # Metrics set by hand take the same route for both sources: a story's reach read off a screenshot.
    story_id = manual[0]["id"]
    changed = await client.patch(
        f"/v1/contents/{story_id}", json={"metrics": {"reach": 95, "views": None}}, headers=tenant.write
    )
    assert changed.status_code == 200, changed.text

    def figures(item: dict[str, Any]) -> dict[str, int]:
        return {k: v for k, v in item["manual_metrics"].items() if v is not None}

    assert changed.json()["source"] == "manual" and figures(changed.json()) == {"reach": 95}
    again = [c for c in await every_page(client, url, tenant, type="story") if c["id"] == story_id]
    assert figures(again[0]) == {"reach": 95}
    rival: Tenant = await make_tenant("Rival")
    other = await client.patch(f"/v1/contents/{story_id}", json={"metrics": {"reach": 1}}, headers=rival.write)
    assert other.status_code == 404  # another workspace's story
