"""Connecting through the creator pages, over real HTTP to the sandbox: every platform, the Instagram
account choice, failures and what the brand's API then shows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from loupe.connections.models import Connection
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account, invite, text_of

SIMPLE = ["tiktok", "youtube", "twitter", "twitch"]


async def accounts_of(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/connected-accounts", params=params, headers=tenant.read)
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


async def status_of(client: httpx.AsyncClient, tenant: Tenant, invite_id: str) -> str:
    response = await client.get(f"/v1/invites/{invite_id}", headers=tenant.read)
    return response.json()["status"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("platform", SIMPLE)
async def test_connect_a_platform_end_to_end(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, platform: str, db: ProcessContext
) -> None:
    sent = await invite(client, tenant)
    target = account(sandbox, platform, creator=1)
    done = await creator.connect(sent["token"], platform, target.id)
    assert done.status_code == 200, done.text
    assert "is connected" in text_of(done.text)
    assert "loupe_creator" in done.headers.get("set-cookie", "")
    [row] = await accounts_of(client, tenant)
    assert row["platform"] == platform
    assert row["platform_user_id"] == target.id  # YouTube channel ids keep their case
    assert row["status"] == "active"
    assert row["influencer_name"] == "Ada" and row["influencer_email"] == "ada@example.com"
    assert await status_of(client, tenant, sent["id"]) == "active"
    # The CRM influencer gained the profile, with the platform's user id.
    influencer = (await client.get(f"/v1/influencers/{sent['influencer_id']}", headers=tenant.read)).json()
    assert [(p["platform"], p["platform_user_id"]) for p in influencer["profiles"]] == [(platform, target.id)]
    # Tokens are encrypted at rest: the stored value is not the token the sandbox issued.
    async with db.sessionmaker() as session:
        stored = (await session.execute(select(Connection))).scalar_one()
    issued = [t.value for t in sandbox.tokens.tokens.values() if t.account_id == target.id and t.kind == "access"]
    assert issued and stored.access_token_enc and all(v not in stored.access_token_enc for v in issued)
    assert db.vault.decrypt(stored.access_token_enc) in issued


async def test_instagram_with_one_professional_account_connects_at_once(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent = await invite(client, tenant)
    ig = account(sandbox, "instagram", creator=0)
    done = await creator.connect(sent["token"], "instagram", ig.id)
    assert done.status_code == 200, done.text
    [row] = await accounts_of(client, tenant)
    assert (row["platform"], row["platform_user_id"], row["username"]) == ("instagram", ig.id, ig.username)
    # Meta: a 60-day token and 90 days of data access; access ends with the earlier.
    assert row["data_access_expires_at"] is not None
    assert row["access_expires_at"] is not None and row["access_expires_at"] <= row["data_access_expires_at"]


async def test_instagram_creator_with_two_accounts_chooses_the_second(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent = await invite(client, tenant)
    person = sandbox.world.creators[1]
    first, second = person.accounts["instagram"]
    chosen = await creator.connect(sent["token"], "instagram", person.fb_user_id)  # "All my Pages"
    assert chosen.status_code == 303
    page = await creator.ours.get(chosen.headers["location"])
    assert page.status_code == 200
    assert f"@{first.username}" in page.text and f"@{second.username}" in page.text
    assert await accounts_of(client, tenant) == []  # nothing connected before the choice
    choice_path = chosen.headers["location"]
    done = await creator.ours.post(choice_path, data={"account_id": second.id})
    assert done.status_code == 200, done.text
    [row] = await accounts_of(client, tenant)
    assert row["platform_user_id"] == second.id
    # The choice is single use.
    again = await creator.ours.post(choice_path, data={"account_id": first.id})
    assert again.status_code == 400
    assert len(await accounts_of(client, tenant)) == 1


async def test_facebook_page_connects(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent = await invite(client, tenant)
    page = account(sandbox, "facebook", creator=2)
    done = await creator.connect(sent["token"], "facebook", page.id)
    assert done.status_code == 200, done.text
    [row] = await accounts_of(client, tenant)
    assert (row["platform"], row["platform_user_id"]) == ("facebook", page.id)


@pytest.mark.parametrize(
    ("creator_index", "reason", "words"),
    [
        (3, "not_professional_account", "personal account"),
        (4, "no_linked_page", "not linked to a Facebook Page"),
    ],
)
async def test_instagram_accounts_that_cannot_connect_say_what_to_change(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    creator_index: int,
    reason: str,
    words: str,
) -> None:
    sent = await invite(client, tenant)
    ig = account(sandbox, "instagram", creator=creator_index)
    failed = await creator.connect(sent["token"], "instagram", ig.id)
    assert failed.status_code == 200
    assert words in text_of(failed.text)
    assert f'action="/connect/{sent["token"]}/start/instagram"' in failed.text  # a retry button
    failures = (await client.get("/v1/connection-failures", headers=tenant.read)).json()["data"]
    assert [(f["platform"], f["reason"]) for f in failures] == [("instagram", reason)]
    assert await accounts_of(client, tenant) == []
    assert await status_of(client, tenant, sent["id"]) == "invited"


async def test_denied_consent_shows_a_friendly_page_and_is_recorded(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent = await invite(client, tenant)
    failed = await creator.connect(sent["token"], "tiktok", account(sandbox, "tiktok").id, decision="deny")
    assert "You did not allow access" in text_of(failed.text)
    response = await client.get(
        "/v1/connection-failures", params={"invite_id": sent["id"], "platform": "tiktok"}, headers=tenant.read
    )
    [failure] = response.json()["data"]
    assert failure["reason"] == "access_denied" and failure["message"]
    other = await client.get("/v1/connection-failures", params={"platform": "youtube"}, headers=tenant.read)
    assert other.json()["data"] == []


async def test_unticked_permission_is_a_permission_missing_failure(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent = await invite(client, tenant)
    form = {"scopes_present": "1", "scope": ["user.info.basic", "user.info.profile", "user.info.stats"]}
    failed = await creator.connect(sent["token"], "tiktok", account(sandbox, "tiktok").id, form=form)
    assert "Some permissions were not granted" in text_of(failed.text)
    [failure] = (await client.get("/v1/connection-failures", headers=tenant.read)).json()["data"]
    assert failure["reason"] == "permission_missing" and "video.list" in failure["message"]


async def test_state_is_single_use_and_bound_to_the_platform(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    sent = await invite(client, tenant)
    started = await creator.start(sent["token"], "twitch")
    callback = await creator.consent(started.headers["location"], account(sandbox, "twitch").id)
    # The same state on another platform's callback is unknown there.
    wrong = await creator.follow(callback.replace("/callback/twitch", "/callback/tiktok"))
    assert wrong.status_code == 400 and "no longer valid" in text_of(wrong.text)
    assert (await creator.follow(callback)).status_code == 200
    replay = await creator.follow(callback)
    assert replay.status_code == 400 and "no longer valid" in text_of(replay.text)
    reasons = [f["reason"] for f in (await client.get("/v1/connection-failures", headers=tenant.read)).json()["data"]]
    assert reasons == ["invalid_state"]  # the replay (the unknown one names no invite, so it is not recorded)
    tampered = await creator.follow(f"{callback.split('state=')[0]}state=forged")
    assert tampered.status_code == 400


async def test_state_expires_after_ten_minutes(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, db: ProcessContext
) -> None:
    sent = await invite(client, tenant)
    started = await creator.start(sent["token"], "youtube")
    callback = await creator.consent(started.headers["location"], account(sandbox, "youtube").id)
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE connect_attempts SET expires_at = now() - interval '1 second'"))
    late = await creator.follow(callback)
    assert "took too long" in text_of(late.text)
    [failure] = (await client.get("/v1/connection-failures", headers=tenant.read)).json()["data"]
    assert failure["reason"] == "state_expired"
    assert await accounts_of(client, tenant) == []


async def test_authorize_url_carries_pkce_and_the_exact_redirect_uri(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator
) -> None:
    sent = await invite(client, tenant)
    location = (await creator.start(sent["token"], "tiktok")).headers["location"]
    query = httpx.URL(location).params
    assert query["redirect_uri"] == "http://loupe.test/connect/callback/tiktok"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 43


async def test_connecting_again_reuses_the_connection(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, new_creator: Any, sandbox: Sandbox, db: ProcessContext
) -> None:
    sent = await invite(client, tenant)
    target = account(sandbox, "twitter")
    await creator.connect(sent["token"], "twitter", target.id)
    async with db.sessionmaker() as session:
        before = (await session.execute(select(Connection))).scalar_one()
    other = new_creator()  # no session cookie: the OAuth dance again
    await other.connect(sent["token"], "twitter", target.id)
    async with db.sessionmaker() as session:
        after = (await session.execute(select(Connection))).scalar_one()
    assert after.id == before.id and after.access_token_enc != before.access_token_enc
    assert len(await accounts_of(client, tenant)) == 1


async def test_connected_accounts_filter_by_platform_status_and_text(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox
) -> None:
    ada = await invite(client, tenant)
    grace = await invite(client, tenant, email="grace@example.com", name="Grace Hopper")
    await creator.connect(ada["token"], "tiktok", account(sandbox, "tiktok", creator=6).id)
    await creator.connect(grace["token"], "twitch", account(sandbox, "twitch", creator=7).id)
    assert [a["platform"] for a in await accounts_of(client, tenant, platform="twitch")] == ["twitch"]
    assert [a["influencer_name"] for a in await accounts_of(client, tenant, q="HOPPER")] == ["Grace Hopper"]
    username = account(sandbox, "tiktok", creator=6).username
    assert [a["platform"] for a in await accounts_of(client, tenant, q=username[:5])] == ["tiktok"]
    assert [a["platform"] for a in await accounts_of(client, tenant, q="grace@")] == ["twitch"]
    assert len(await accounts_of(client, tenant, status="active")) == 2
    page = await client.get("/v1/connected-accounts", params={"limit": 1}, headers=tenant.read)
    second = await client.get(
        "/v1/connected-accounts", params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=tenant.read
    )
    assert {page.json()["data"][0]["platform"], second.json()["data"][0]["platform"]} == {"tiktok", "twitch"}
    for bad in ({"platform": "myspace"}, {"status": "gone"}, {"limit": 0}):
        refused = await client.get("/v1/connected-accounts", params=bad, headers=tenant.read)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"].startswith("query.")
