"""After connecting: connect once across workspaces, disconnecting (here or everywhere), reconnecting,
the staging limit, the workspace connect link, and what the brand's API shows of all of it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import text

from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from loupe.workspaces.models import Plan
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account, invite, text_of
from tests.connections.test_connect_flow import accounts_of, status_of


def share_ids(html: str) -> list[str]:
    return re.findall(r'name="connection_id" value="([0-9a-f-]+)"', html)


async def connected_ids(creator: Creator, token: str) -> list[str]:
    """The accounts the invite page offers to disconnect."""
    page = await creator.ours.get(f"/connect/{token}")
    return list(dict.fromkeys(re.findall(r"/disconnect/([0-9a-f-]+)", page.text)))


async def share_all(creator: Creator, token: str) -> httpx.Response:
    page = await creator.ours.get(f"/connect/{token}")
    return await creator.ours.post(f"/connect/{token}/share", data={"connection_id": share_ids(page.text)})


async def test_connect_once_offers_a_live_connection_to_another_workspace(
    client: httpx.AsyncClient, make_tenant: Any, creator: Creator, new_creator: Any, sandbox: Sandbox
) -> None:
    a, b = await make_tenant("Acme"), await make_tenant("Rival")
    invite_a, invite_b = await invite(client, a), await invite(client, b)
    await creator.connect(invite_a["token"], "tiktok", account(sandbox, "tiktok").id)
    page_b = await creator.ours.get(f"/connect/{invite_b['token']}")
    offered = share_ids(page_b.text)
    assert len(offered) == 1 and "Use accounts you already connected" in page_b.text
    # A browser without the session sees no offer, and cannot forge one.
    stranger = new_creator()
    assert share_ids((await stranger.ours.get(f"/connect/{invite_b['token']}")).text) == []
    forged = await stranger.ours.post(f"/connect/{invite_b['token']}/share", data={"connection_id": offered})
    assert forged.status_code == 303 and await accounts_of(client, b) == []
    done = await creator.ours.post(f"/connect/{invite_b['token']}/share", data={"connection_id": offered})
    assert done.status_code == 200 and "is connected" in text_of(done.text)
    [in_b] = await accounts_of(client, b)
    [in_a] = await accounts_of(client, a)
    assert in_a["platform_user_id"] == in_b["platform_user_id"] and in_a["id"] != in_b["id"]
    assert in_b["influencer_email"] == "ada@example.com" and await status_of(client, b, invite_b["id"]) == "active"
    # Each workspace sees only its own grant.
    assert (await client.get(f"/v1/connected-accounts/{in_a['id']}", headers=b.read)).status_code == 404
    # Shared already: no second offer.
    assert share_ids((await creator.ours.get(f"/connect/{invite_b['token']}")).text) == []


async def test_tampered_session_cookie_is_ignored(
    client: httpx.AsyncClient, tenant: Tenant, make_tenant: Any, creator: Creator, sandbox: Sandbox
) -> None:
    other = await make_tenant("Rival")
    mine, theirs = await invite(client, tenant), await invite(client, other)
    await creator.connect(mine["token"], "twitch", account(sandbox, "twitch").id)
    cookie = creator.ours.cookies.get("loupe_creator")
    assert cookie
    creator.ours.cookies.set("loupe_creator", cookie[:-4] + "AAAA", domain="loupe.test", path="/connect")
    assert share_ids((await creator.ours.get(f"/connect/{theirs['token']}")).text) == []


async def test_disconnect_from_one_workspace_keeps_the_other(
    client: httpx.AsyncClient, make_tenant: Any, creator: Creator, sandbox: Sandbox
) -> None:
    a, b = await make_tenant("Acme"), await make_tenant("Rival")
    invite_a, invite_b = await invite(client, a), await invite(client, b)
    target = account(sandbox, "youtube")
    await creator.connect(invite_a["token"], "youtube", target.id)
    await share_all(creator, invite_b["token"])
    [connection_id] = await connected_ids(creator, invite_a["token"])
    gone = await creator.ours.post(
        f"/connect/{invite_a['token']}/disconnect/{connection_id}", data={"scope": "workspace"}
    )
    assert gone.status_code == 303 and gone.headers["location"].endswith("notice=disconnected")
    [after_a] = await accounts_of(client, a)
    assert after_a["status"] == "disconnected" and after_a["disconnected_at"]
    assert await status_of(client, a, invite_a["id"]) == "action_needed"
    [row_b] = await accounts_of(client, b)
    assert row_b["status"] == "active" and await status_of(client, b, invite_b["id"]) == "active"
    assert (
        await accounts_of(client, a, status="active") == []
        and len(await accounts_of(client, a, status="disconnected")) == 1
    )
    # The token still works at the platform: only A lost access.
    assert any(t.account_id == target.id and not t.revoked for t in sandbox.tokens.tokens.values())
    # An invite link cannot disconnect an account that came through another invite.
    other = await invite(client, a, email="grace@example.com", name="Grace")
    refused = await creator.ours.post(
        f"/connect/{other['token']}/disconnect/{connection_id}", data={"scope": "everywhere"}
    )
    assert refused.status_code == 303 and (await accounts_of(client, b))[0]["status"] == "active"


async def test_disconnect_everywhere_revokes_at_the_platform_and_reconnect_restores(
    client: httpx.AsyncClient, make_tenant: Any, creator: Creator, sandbox: Sandbox
) -> None:
    a, b = await make_tenant("Acme"), await make_tenant("Rival")
    invite_a, invite_b = await invite(client, a), await invite(client, b)
    target = account(sandbox, "tiktok", creator=2)
    await creator.connect(invite_a["token"], "tiktok", target.id)
    await share_all(creator, invite_b["token"])
    [connection_id] = await connected_ids(creator, invite_b["token"])
    path = f"/connect/{invite_b['token']}/disconnect/{connection_id}"
    asked = await creator.ours.post(path, data={"scope": "everywhere"})
    assert asked.status_code == 200 and "from every brand?" in text_of(asked.text)
    assert (await accounts_of(client, b))[0]["status"] == "active"  # nothing happens before the confirmation
    await creator.ours.post(path, data={"scope": "everywhere", "confirm": "yes"})
    for tenant, sent in ((a, invite_a), (b, invite_b)):
        [row] = await accounts_of(client, tenant)
        assert row["status"] == "disconnected"
        assert await status_of(client, tenant, sent["id"]) == "action_needed"
    issued = [t for t in sandbox.tokens.tokens.values() if t.account_id == target.id]
    assert issued and all(t.revoked for t in issued)  # revoked at TikTok, not just forgotten here
    # Nothing left to offer to a third workspace.
    c = await make_tenant("Third")
    assert share_ids((await creator.ours.get(f"/connect/{(await invite(client, c))['token']}")).text) == []
    # Reconnecting through the platform brings A back (B stays disconnected until shared again).
    await creator.connect(invite_a["token"], "tiktok", target.id)
    [row_a] = await accounts_of(client, a)
    assert row_a["status"] == "active" and await status_of(client, a, invite_a["id"]) == "active"
    assert (await accounts_of(client, b))[0]["status"] == "disconnected"


async def test_staging_workspace_holds_25_connected_accounts(
    client: httpx.AsyncClient, make_tenant: Any, creator: Creator, sandbox: Sandbox, db: ProcessContext
) -> None:
    tenant = await make_tenant("Small", Plan.staging)
    workspace = (await client.get("/v1/workspace", headers=tenant.read)).json()
    assert (workspace["connected_accounts"], workspace["connected_accounts_limit"]) == (0, 25)
    sent = await invite(client, tenant)
    await creator.connect(sent["token"], "twitter", account(sandbox, "twitter").id)
    await add_connected_accounts(db, tenant, sent, 24)
    assert (await client.get("/v1/workspace", headers=tenant.read)).json()["connected_accounts"] == 25
    full = await creator.start(sent["token"], "youtube")
    assert full.status_code == 409 and "cannot connect more accounts" in text_of(full.text)
    failures = (await client.get("/v1/connection-failures", headers=tenant.read)).json()["data"]
    assert [f["reason"] for f in failures] == ["limit_reached"]
    # One of them lapsing frees a place.
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE connection_grants SET status = 'expired' WHERE connection_id IN "
                "(SELECT id FROM connections WHERE platform_user_id = 'u1')"
            )
        )
    assert (await creator.connect(sent["token"], "youtube", account(sandbox, "youtube").id)).status_code == 200
    assert (await client.get("/v1/workspace", headers=tenant.read)).json()["connected_accounts"] == 25
    # A production workspace has no limit.
    big = await make_tenant("Big", Plan.production)
    assert (await client.get("/v1/workspace", headers=big.read)).json()["connected_accounts_limit"] is None


async def add_connected_accounts(db: ProcessContext, tenant: Tenant, sent: dict[str, Any], count: int) -> None:
    """Accounts as the connect flow stores them (25 OAuth trips would only slow the tests down)."""
    async with db.engine.begin() as conn:
        await conn.execute(
            text(
                """
                WITH made AS (
                    INSERT INTO connections (id, platform, platform_user_id, scopes, status, connected_at)
                    SELECT gen_random_uuid(), 'twitch', 'u' || n, '{}', 'active', now() FROM generate_series(1, :n) n
                    RETURNING id
                )
                INSERT INTO connection_grants (id, workspace_id, connection_id, invite_id, influencer_id, status,
                                               connected_at)
                SELECT gen_random_uuid(), :workspace, made.id, :invite, :influencer, 'active', now() FROM made
                """
            ),
            {"n": count, "workspace": tenant.workspace_id, "invite": sent["id"], "influencer": sent["influencer_id"]},
        )


async def test_the_last_place_goes_to_the_first_trip_to_finish(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, db: ProcessContext
) -> None:
    sent = await invite(client, tenant)
    await add_connected_accounts(db, tenant, sent, 24)
    youtube = await creator.start(sent["token"], "youtube")
    tiktok = await creator.start(sent["token"], "tiktok")  # both start: one place is left
    youtube_back = await creator.consent(youtube.headers["location"], account(sandbox, "youtube").id)
    tiktok_back = await creator.consent(tiktok.headers["location"], account(sandbox, "tiktok").id)
    assert (await creator.follow(youtube_back)).status_code == 200
    refused = await creator.follow(tiktok_back)
    assert refused.status_code == 409 and "cannot connect more accounts" in text_of(refused.text)
    async with db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM connections WHERE platform = 'tiktok'"))).scalar()
    assert stored == 0  # refused before anything was stored: no tokens left behind
    assert (await client.get("/v1/workspace", headers=tenant.read)).json()["connected_accounts"] == 25


async def test_workspace_connect_link_makes_the_invite_first(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, db: ProcessContext
) -> None:
    first = (await client.get("/v1/workspace/connect-link", headers=tenant.read)).json()["url"]
    assert first == (await client.get("/v1/workspace/connect-link", headers=tenant.read)).json()["url"]
    path = httpx.URL(first).path
    page = await creator.ours.get(path)
    assert page.status_code == 200 and 'for="email"' in page.text and "Acme" in page.text
    bad = await creator.ours.post(path, data={"name": "Ada", "email": "not-an-email"})
    assert bad.status_code == 422 and "valid email" in text_of(bad.text)
    assert (await client.get("/v1/invites", headers=tenant.read)).json()["data"] == []
    joined = await creator.ours.post(path, data={"name": " Ada ", "email": "ada@example.com"})
    assert joined.status_code == 303
    [made] = (await client.get("/v1/invites", headers=tenant.read)).json()["data"]
    assert (made["name"], made["email"]) == ("Ada", "ada@example.com")
    assert joined.headers["location"] == httpx.URL(made["link"]).path
    done = await creator.connect(made["link"].rsplit("/", 1)[1], "twitch", account(sandbox, "twitch").id)
    assert done.status_code == 200
    # The same email again never reveals that invite's link: it is mailed to its owner instead.
    again = await creator.ours.post(path, data={"name": "Someone", "email": "ADA@example.com"})
    assert again.status_code == 200 and made["link"] not in again.text and "sent its link" in again.text
    assert (await creator.ours.get("/connect/w/not-a-token")).status_code == 404
    other_key = await client.get("/v1/workspace/connect-link", headers={"Authorization": "Bearer nope"})
    assert other_key.status_code == 401
