"""TikTok fidelity: error.code "ok", ms cursors with has_more, refresh rotation, scopes, 600/min limit."""

from __future__ import annotations

import httpx

from loupe.sandbox.state import Sandbox

from .conftest import REDIRECT, authorize, callback

AUTH = "/www.tiktok.com/v2/auth/authorize/"
API = "/open.tiktokapis.com/v2"
CLIENT = {"client_key": "loupe-sandbox-tiktok", "client_secret": "sandbox-secret-tiktok"}
SCOPES = "user.info.basic,user.info.profile,user.info.stats,video.list"


def big(sandbox: Sandbox) -> str:
    return max(sandbox.world.accounts["tiktok"].values(), key=lambda a: a.history).id


async def login(client: httpx.AsyncClient, account: str, scope: str = SCOPES, picked: list[str] | None = None) -> dict:
    query = {
        "client_key": "loupe-sandbox-tiktok",
        "response_type": "code",
        "scope": scope,
        "redirect_uri": REDIRECT,
        "state": "t1",
    }
    extra = {"scopes_present": "1", "scope": picked} if picked is not None else None
    params, fragment = callback(await authorize(client, AUTH, query, account, extra=extra))
    assert fragment is None and params["state"] == "t1"
    r = await client.post(
        f"{API}/oauth/token/",
        data={**CLIENT, "code": params["code"], "grant_type": "authorization_code", "redirect_uri": REDIRECT},
    )
    assert r.status_code == 200, r.text
    return {**r.json(), "granted": params["scopes"]}


async def test_token_shape_and_rotation(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    assert tok["open_id"] == big(sandbox) and tok["token_type"] == "Bearer" and tok["scope"] == SCOPES
    # today's lifetimes: access 2 h, refresh 180 days (not the older 24 h / 365 d)
    assert (tok["expires_in"], tok["refresh_expires_in"]) == (7200, 15_552_000)
    sandbox.clock.advance(7200 + 60)  # the access token has expired; the refresh token has not
    form = {**CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
    new = (await client.post(f"{API}/oauth/token/", data=form)).json()
    assert new["refresh_token"] != tok["refresh_token"] and new["access_token"] != tok["access_token"]
    # the rotated refresh token gets the full 180 days again
    assert (new["expires_in"], new["refresh_expires_in"]) == (7200, 15_552_000)
    old = await client.post(f"{API}/oauth/token/", data=form)
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant" and "log_id" in old.json()


async def test_user_info_ok_envelope_and_scopes(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox), picked=["user.info.basic", "video.list"])
    assert tok["granted"] == "user.info.basic,video.list"
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    r = await client.get(f"{API}/user/info/", params={"fields": "open_id,display_name,avatar_url"}, headers=headers)
    body = r.json()
    assert body["error"]["code"] == "ok" and body["error"]["message"] == "" and body["data"]["user"]["open_id"]
    r = await client.get(f"{API}/user/info/", params={"fields": "open_id,follower_count"}, headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "scope_not_authorized"
    r = await client.get(f"{API}/user/info/", params={"fields": "open_id"}, headers={"Authorization": "Bearer x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "access_token_invalid"


async def test_video_list_cursor_paging_and_query(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    fields = {"fields": "id,create_time,title,video_description,like_count,view_count,share_count,duration"}
    cursor, seen, pages = None, [], 0
    while True:
        body = {"max_count": 20, **({"cursor": cursor} if cursor else {})}
        data = (await client.post(f"{API}/video/list/", params=fields, json=body, headers=headers)).json()["data"]
        pages += 1
        seen += data["videos"]
        assert data["cursor"] > 10**12  # milliseconds
        if not data["has_more"]:
            break
        cursor = data["cursor"]
    ids = [v["id"] for v in seen]
    assert pages >= 4 and len(ids) == len(set(ids))
    assert [v["create_time"] for v in seen] == sorted((v["create_time"] for v in seen), reverse=True)
    r = await client.post(f"{API}/video/list/", params=fields, json={"max_count": 21}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_params"
    r = await client.post(f"{API}/video/list/", params=fields, json={"max_count": 20}, headers=headers)
    assert [v["id"] for v in r.json()["data"]["videos"]] == ids[:20]
    q = await client.post(
        f"{API}/video/query/", params=fields, json={"filters": {"video_ids": ids[:3]}}, headers=headers
    )
    assert [v["id"] for v in q.json()["data"]["videos"]] == ids[:3] and q.json()["error"]["code"] == "ok"


async def test_rate_limit_and_faults(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    sandbox.limits.tiktok_per_minute = 3
    codes = [
        (await client.get(f"{API}/user/info/", params={"fields": "open_id"}, headers=headers)).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    r = await client.get(f"{API}/user/info/", params={"fields": "open_id"}, headers=headers)
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    sandbox.clock.advance(61)
    assert (await client.get(f"{API}/user/info/", params={"fields": "open_id"}, headers=headers)).status_code == 200
    await client.post("/_sandbox/faults", json={"platform": "tiktok", "fault": "server_error"})
    r = await client.get(f"{API}/user/info/", params={"fields": "open_id"}, headers=headers)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    await client.post(
        "/_sandbox/faults", json={"platform": "tiktok", "account": big(sandbox), "fault": "token_revoked"}
    )
    r = await client.get(f"{API}/user/info/", params={"fields": "open_id"}, headers=headers)
    assert r.status_code == 401


async def test_revoke(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    assert (await client.post(f"{API}/oauth/revoke/", data={**CLIENT, "token": tok["access_token"]})).status_code == 200
    r = await client.get(
        f"{API}/user/info/", params={"fields": "open_id"}, headers={"Authorization": f"Bearer {tok['access_token']}"}
    )
    assert r.status_code == 401


async def test_video_list_defaults_to_10(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """`max_count` omitted: the documented default of 10 videos (20 is only the maximum)."""
    tok = await login(client, big(sandbox))
    headers = {"Authorization": f"Bearer {tok['access_token']}"}
    fields = {"fields": "id,create_time"}
    r = await client.post(f"{API}/video/list/", params=fields, json={}, headers=headers)
    data = r.json()["data"]
    assert r.status_code == 200 and len(data["videos"]) == 10 and data["has_more"] is True
    nxt = await client.post(f"{API}/video/list/", params=fields, json={"cursor": data["cursor"]}, headers=headers)
    more = nxt.json()["data"]["videos"]
    assert len(more) == 10 and not {v["id"] for v in more} & {v["id"] for v in data["videos"]}
    assert more[0]["create_time"] < data["videos"][-1]["create_time"]
