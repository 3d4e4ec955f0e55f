"""Instagram stories through the API, against the live sandbox: the poll (media copied, metrics kept, each
account alone, idempotent) and Meta's webhooks (subscription check, signed story_insights)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text

from loupe.accounts.models import AccountContent, ContentMetricSnapshot
from loupe.accounts.stories import poll_stories
from loupe.config import Settings
from loupe.connections.models import Connection
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from loupe.sandbox.webhooks import send_story_insights, story_insights_payload
from tests.conftest import Tenant
from tests.connections.conftest import BASE, Creator, account, invite

VERIFY_TOKEN = "verify-me-1234"
IG_SECRET = "sandbox-secret-instagram"


@pytest.fixture
def connect_settings(connect_settings: Settings) -> Settings:
    return connect_settings.model_copy(update={"meta_webhook_verify_token": SecretStr(VERIFY_TOKEN)})


async def connect_instagram(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, who: int, email: str
) -> Any:
    sent = await invite(client, tenant, email=email, name=email.split("@")[0])
    acct = account(sandbox, "instagram", creator=who)
    await creator.connect(sent["token"], "instagram", acct.id)
    sandbox.world.publish(acct, sandbox.now(), "story", "a story of this test")  # at least one live story
    return acct


async def stories(ctx: ProcessContext, platform_user_id: str | None = None) -> list[AccountContent]:
    async with ctx.sessionmaker() as session:
        stmt = select(AccountContent).where(AccountContent.type == "story")
        if platform_user_id:
            stmt = stmt.join(Connection).where(Connection.platform_user_id == platform_user_id)
        return list((await session.execute(stmt.order_by(AccountContent.platform_content_id))).scalars())


async def snapshots(ctx: ProcessContext) -> int:
    async with ctx.sessionmaker() as session:
        stmt = select(func.count()).select_from(ContentMetricSnapshot)
        return int((await session.execute(stmt)).scalar_one())


def sign(raw: bytes, secret: str = IG_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


async def test_poll_stores_stories_with_their_media_and_metrics_idempotently(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    acct = await connect_instagram(client, tenant, creator, sandbox, 2, "ada@example.com")
    live = sandbox.world.live_stories(acct, sandbox.now())
    result = await poll_stories({"process": connect_ctx})
    assert result["accounts"] == 1 and result["failed"] == 0 and result["stories"] == len(live), result
    assert result["media_stored"] == len(live)
    first = await stories(connect_ctx)
    assert sorted(s.platform_content_id for s in first) == sorted(it.id for it in live)
    for story in first:
        [media] = story.media
        path = connect_ctx.media.path_of(media["path"])
        assert media["path"].startswith(f"stories/{story.connection_id}/{story.platform_content_id}/")
        assert path.read_bytes().startswith(b"GIF8") and media["content_type"] == "image/gif"
        assert media["size"] == path.stat().st_size and media["url"].startswith("http")
    with_figures = [s for s in first if s.metrics.get("views") is not None]
    assert with_figures, "the scheduled stories have viewers"
    assert await snapshots(connect_ctx) == len(first)

    again = await poll_stories({"process": connect_ctx})  # the same day: nothing doubles, nothing re-downloaded
    assert again["failed"] == 0 and again["media_stored"] == 0, again
    second = await stories(connect_ctx)
    assert [(s.id, s.media[0]["path"]) for s in second] == [(s.id, s.media[0]["path"]) for s in first]
    assert await snapshots(connect_ctx) == len(first)
    files = list(connect_ctx.media.path_of(f"stories/{first[0].connection_id}").rglob("*"))
    assert len([f for f in files if f.is_file()]) == len(first)

    # The account's data deleted (Meta data deletion, or any cascade): its story files follow.
    async with connect_ctx.engine.begin() as conn:
        await conn.execute(text("DELETE FROM connections"))
    assert await connect_ctx.media.sweep_trash(connect_ctx.sessionmaker) == len(first)
    assert not [f for f in connect_ctx.media.path_of(f"stories/{first[0].connection_id}").rglob("*") if f.is_file()]


async def test_a_failing_account_does_not_stop_the_others(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    new_creator: Any,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
) -> None:
    broken = await connect_instagram(client, tenant, creator, sandbox, 5, "bo@example.com")
    fine = await connect_instagram(client, tenant, new_creator(), sandbox, 8, "cy@example.com")
    sandbox.add_fault("instagram", "server_error", account=broken.id)
    result = await poll_stories({"process": connect_ctx})
    assert result["accounts"] == 2 and result["failed"] == 1, result
    assert await stories(connect_ctx, broken.id) == []
    assert len(await stories(connect_ctx, fine.id)) == len(sandbox.world.live_stories(fine, sandbox.now()))
    async with connect_ctx.sessionmaker() as session:
        rows = {c.platform_user_id: c for c in (await session.execute(select(Connection))).scalars()}
    assert rows[broken.id].status == "active" and (rows[broken.id].last_error or "").startswith("stories: ")
    assert rows[fine.id].last_error is None
    sandbox.faults.faults.clear()  # the next poll succeeds and forgets the error
    assert (await poll_stories({"process": connect_ctx}))["failed"] == 0
    async with connect_ctx.sessionmaker() as session:
        assert (await session.get(Connection, rows[broken.id].id)).last_error is None  # type: ignore[union-attr]


async def test_webhook_subscription_check(client: httpx.AsyncClient) -> None:
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    answer = await client.get("/webhooks/meta", params=good)
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")
    for bad in ({**good, "hub.verify_token": "guess"}, {**good, "hub.mode": "unsubscribe"}, {"hub.challenge": "1"}):
        refused = await client.get("/webhooks/meta", params=bad)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


async def test_story_insights_webhook_lands_on_the_story_once_and_checks_its_signature(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    acct = await connect_instagram(client, tenant, creator, sandbox, 2, "ada@example.com")
    await poll_stories({"process": connect_ctx})
    story = next(s for s in await stories(connect_ctx) if s.metrics.get("views") is not None)
    item = sandbox.world.find_item("instagram", story.platform_content_id)
    assert item is not None
    raw = orjson.dumps(story_insights_payload(acct, item, sandbox.now() + 86_400))
    snapshot_count = await snapshots(connect_ctx)

    for header in (None, "sha256=" + "0" * 64, sign(raw, "another-secret"), sign(raw).removeprefix("sha256=")):
        headers = {"Content-Type": "application/json", **({"X-Hub-Signature-256": header} if header else {})}
        refused = await client.post("/webhooks/meta", content=raw, headers=headers)
        assert refused.status_code == 403, refused.text
    tampered = raw.replace(b'"reach":', b'"reach":1')
    assert (
        await client.post("/webhooks/meta", content=tampered, headers={"X-Hub-Signature-256": sign(raw)})
    ).status_code == 403
    [unchanged] = [s for s in await stories(connect_ctx) if s.id == story.id]
    assert unchanged.metrics == story.metrics and "final_insights" not in unchanged.extras

    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
    for _ in range(2):  # Meta retries deliveries: the second changes nothing
        assert (await client.post("/webhooks/meta", content=raw, headers=headers)).status_code == 200
    [final] = [s for s in await stories(connect_ctx) if s.id == story.id]
    value = orjson.loads(raw)["entry"][0]["changes"][0]["value"]
    assert final.extras["final_insights"] == {k: v for k, v in value.items() if k != "media_id"}
    assert {k: final.metrics[k] for k in ("impressions", "reach", "taps_forward", "replies")} == {
        k: value[k] for k in ("impressions", "reach", "taps_forward", "replies")
    }
    assert final.metrics["views"] == story.metrics["views"]  # the poll's own figures stay
    assert await snapshots(connect_ctx) == snapshot_count  # today's snapshot updated, none added
    async with connect_ctx.sessionmaker() as session:
        snap = await session.get(ContentMetricSnapshot, (story.id, connect_ctx.clock.now().date()))
    assert snap is not None and snap.metrics == final.metrics

    unknown = raw.replace(story.platform_content_id.encode(), b"17999999999999999")
    answer = await client.post("/webhooks/meta", content=unknown, headers={"X-Hub-Signature-256": sign(unknown)})
    assert answer.status_code == 200


async def test_the_sandbox_sends_signed_story_insights_that_loupe_accepts(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    """The sandbox's sender, pointed at our app (in-process), end to end."""
    acct = await connect_instagram(client, tenant, creator, sandbox, 2, "ada@example.com")
    await poll_stories({"process": connect_ctx})
    live = sandbox.world.live_stories(acct, sandbox.now())
    calls = await send_story_insights(sandbox, client, acct, live, url=f"{BASE}/webhooks/meta")
    assert [c["status"] for c in calls] == [200] * len(live), calls
    for call in calls:
        raw = orjson.dumps(call["sent"]["json"])
        assert call["sent"]["headers"]["X-Hub-Signature-256"] == sign(raw)
    finals = await stories(connect_ctx)
    assert len(finals) == len(live) and all("final_insights" in s.extras for s in finals)


async def test_stored_story_media_is_served_to_the_workspace_only(
    client: httpx.AsyncClient,
    tenant: Tenant,
    make_tenant: Any,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
) -> None:
    await connect_instagram(client, tenant, creator, sandbox, 2, "ada@example.com")
    await poll_stories({"process": connect_ctx})
    [account_row] = (await client.get("/v1/connected-accounts", headers=tenant.read)).json()["data"]
    listed = await client.get(
        f"/v1/connected-accounts/{account_row['id']}/contents", params={"type": "story"}, headers=tenant.read
    )
    story = listed.json()["data"][0]
    assert story["media"][0]["stored"] is True and "path" not in story["media"][0]
    media = await client.get(f"/v1/contents/{story['id']}/media/0", headers=tenant.read)
    assert media.status_code == 200 and media.content.startswith(b"GIF8")
    assert media.headers["content-type"] == "image/gif" and media.headers["x-content-type-options"] == "nosniff"
    assert (await client.get(f"/v1/contents/{story['id']}/media/3", headers=tenant.read)).status_code == 404
    other = await make_tenant("Rival")
    assert (await client.get(f"/v1/contents/{story['id']}/media/0", headers=other.read)).status_code == 404
    assert (await client.get(f"/v1/contents/{story['id']}/media/0")).status_code == 401
