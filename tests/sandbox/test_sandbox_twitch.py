"""Twitch fidelity: Client-Id on every Helix call, followers total-only without the moderator scope."""

from __future__ import annotations

import httpx

from loupe.sandbox.state import Sandbox

from .conftest import REDIRECT, authorize, callback

AUTH = "/id.twitch.tv/oauth2/authorize"
CLIENT = {"client_id": "loupe-sandbox-twitch", "client_secret": "sandbox-secret-twitch"}
HELIX = "/api.twitch.tv/helix"


async def login(client: httpx.AsyncClient, account: str, scope: str = "moderator:read:followers") -> dict:
    query = {
        "response_type": "code",
        "client_id": CLIENT["client_id"],
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "tw",
        "force_verify": "true",
    }
    params, _ = callback(await authorize(client, AUTH, query, account))
    r = await client.post(
        "/id.twitch.tv/oauth2/token",
        data={**CLIENT, "code": params["code"], "grant_type": "authorization_code", "redirect_uri": REDIRECT},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def big(sandbox: Sandbox) -> str:
    return max(sandbox.world.accounts["twitch"].values(), key=lambda a: a.history).id


async def test_token_validate_refresh(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    assert tok["scope"] == ["moderator:read:followers"] and tok["expires_in"] == 14124
    v = await client.get("/id.twitch.tv/oauth2/validate", headers={"Authorization": f"OAuth {tok['access_token']}"})
    assert v.json()["user_id"] == big(sandbox) and v.json()["client_id"] == CLIENT["client_id"]
    r = await client.post(
        "/id.twitch.tv/oauth2/token", data={**CLIENT, "grant_type": "refresh_token", "refresh_token": "bogus"}
    )
    assert r.json() == {"status": 400, "message": "Invalid refresh token"}
    r = await client.post(
        "/id.twitch.tv/oauth2/token",
        data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]},
    )
    assert r.status_code == 200 and r.json()["access_token"] != tok["access_token"]


async def test_client_id_checked_on_helix(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    bearer = {"Authorization": f"Bearer {tok['access_token']}"}
    for path in ("/users", f"/videos?user_id={big(sandbox)}", f"/channels/followers?broadcaster_id={big(sandbox)}"):
        r = await client.get(HELIX + path, headers=bearer)
        assert r.status_code == 401 and r.json()["error"] == "Unauthorized", path
        r = await client.get(HELIX + path, headers={**bearer, "Client-Id": "someone-else"})
        assert r.status_code == 401
        r = await client.get(HELIX + path, headers={**bearer, "Client-Id": CLIENT["client_id"]})
        assert r.status_code == 200 and {"Ratelimit-Limit", "Ratelimit-Remaining", "Ratelimit-Reset"} <= {
            k.title() for k in r.headers
        }


async def test_users_videos_followers(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    acct = big(sandbox)
    h = {"Client-Id": CLIENT["client_id"]}
    with_scope = await login(client, acct)
    h1 = {**h, "Authorization": f"Bearer {with_scope['access_token']}"}
    user = (await client.get(f"{HELIX}/users", headers=h1)).json()["data"][0]
    assert user["id"] == acct and user["login"]
    after, ids = None, []
    while True:
        body = (
            await client.get(
                f"{HELIX}/videos",
                params={"user_id": acct, "first": 20, **({"after": after} if after else {})},
                headers=h1,
            )
        ).json()
        ids += [v["id"] for v in body["data"]]
        after = body["pagination"].get("cursor")
        if not after:
            break
    assert len(ids) == len(set(ids)) == sandbox.world.feed_count(sandbox.world.accounts["twitch"][acct], sandbox.now())
    full = (
        await client.get(f"{HELIX}/channels/followers", params={"broadcaster_id": acct, "first": 5}, headers=h1)
    ).json()
    assert full["total"] > 0 and len(full["data"]) == 5 and full["pagination"]["cursor"]
    without = await login(client, acct, scope="user:read:email")
    h2 = {**h, "Authorization": f"Bearer {without['access_token']}"}
    body = (await client.get(f"{HELIX}/channels/followers", params={"broadcaster_id": acct}, headers=h2)).json()
    assert body["data"] == [] and body["total"] == full["total"]
    sandbox.limits.twitch_points_per_minute = 1
    r = await client.get(f"{HELIX}/users", headers=h2)
    assert r.status_code == 429 and r.headers["ratelimit-remaining"] == "0"
