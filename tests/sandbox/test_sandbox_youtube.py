"""YouTube fidelity: string statistics, quotaExceeded, invalid_grant after revoke, city report rules."""

from __future__ import annotations

import httpx

from loupe.sandbox.state import Sandbox

from .conftest import REDIRECT, authorize, callback

AUTH = "/accounts.google.com/o/oauth2/v2/auth"
TOKEN = "/oauth2.googleapis.com/token"
DATA = "/www.googleapis.com/youtube/v3"
REPORTS = "/youtubeanalytics.googleapis.com/v2/reports"
SCOPES = "https://www.googleapis.com/auth/youtube.readonly https://www.googleapis.com/auth/yt-analytics.readonly"
CLIENT = {"client_id": "loupe-sandbox-youtube", "client_secret": "sandbox-secret-youtube"}


async def login(client: httpx.AsyncClient, account: str, offline: bool = True) -> dict:
    query = {
        **{"client_id": CLIENT["client_id"]},
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": SCOPES,
        "state": "y1",
        "prompt": "consent",
        "include_granted_scopes": "true",
        **({"access_type": "offline"} if offline else {}),
    }
    params, _ = callback(await authorize(client, AUTH, query, account))
    assert params["scope"] == SCOPES
    r = await client.post(
        TOKEN, data={**CLIENT, "code": params["code"], "grant_type": "authorization_code", "redirect_uri": REDIRECT}
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def big(sandbox: Sandbox) -> str:
    return max(sandbox.world.accounts["youtube"].values(), key=lambda a: a.history).id


async def test_channel_uploads_and_string_statistics(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    assert tok["expires_in"] == 3599 and tok["refresh_token"].startswith("1//")
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    ch = (
        await client.get(
            f"{DATA}/channels", params={"part": "snippet,statistics,contentDetails", "mine": "true"}, headers=h
        )
    ).json()["items"][0]
    stats = ch["statistics"]
    assert all(isinstance(stats[k], str) for k in ("viewCount", "subscriberCount", "videoCount"))
    uploads = ch["contentDetails"]["relatedPlaylists"]["uploads"]
    token, ids = None, []
    while True:
        body = (
            await client.get(
                f"{DATA}/playlistItems",
                params={
                    "part": "snippet,contentDetails",
                    "playlistId": uploads,
                    "maxResults": 50,
                    **({"pageToken": token} if token else {}),
                },
                headers=h,
            )
        ).json()
        ids += [i["contentDetails"]["videoId"] for i in body["items"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert len(ids) == int(stats["videoCount"]) > 100 and len(set(ids)) == len(ids)
    vids = (
        await client.get(
            f"{DATA}/videos", params={"part": "snippet,statistics,contentDetails", "id": ",".join(ids[:50])}, headers=h
        )
    ).json()["items"]
    assert len(vids) == 50 and isinstance(vids[0]["statistics"]["viewCount"], str)
    assert vids[0]["contentDetails"]["duration"].startswith("PT")
    pl = (await client.get(f"{DATA}/playlists", params={"part": "id", "mine": "true"}, headers=h)).json()
    assert "totalResults" in pl["pageInfo"]


async def test_no_channel(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    acct = next(a for a in sandbox.world.accounts["youtube"].values() if not a.has_channel)
    tok = await login(client, acct.id)
    r = await client.get(
        f"{DATA}/channels",
        params={"part": "snippet", "mine": "true"},
        headers={"Authorization": f"Bearer {tok['access_token']}"},
    )
    assert r.json()["items"] == []


async def test_quota_exceeded(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    sandbox.limits.youtube_units_per_day = 2
    statuses = [
        (await client.get(f"{DATA}/channels", params={"part": "id", "mine": "true"}, headers=h)) for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 403]
    err = statuses[-1].json()["error"]
    assert err["code"] == 403 and err["errors"][0] == {
        **err["errors"][0],
        "domain": "youtube.quota",
        "reason": "quotaExceeded",
    }
    sandbox.clock.advance(86400)  # a new Pacific day restores the quota
    fresh = (
        await client.post(TOKEN, data={**CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
    ).json()["access_token"]
    r = await client.get(
        f"{DATA}/channels", params={"part": "id", "mine": "true"}, headers={"Authorization": f"Bearer {fresh}"}
    )
    assert r.status_code == 200


async def test_refresh_and_revoke(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    form = {**CLIENT, "grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 200 and "refresh_token" not in r.json() and r.json()["expires_in"] == 3599
    revoked = await client.post("/oauth2.googleapis.com/revoke", params={"token": tok["refresh_token"]})
    assert revoked.status_code == 200
    r = await client.post(TOKEN, data=form)
    assert r.status_code == 400 and r.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }
    online = await login(client, big(sandbox), offline=False)
    assert "refresh_token" not in online


async def test_analytics_reports(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tok = await login(client, big(sandbox))
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    base = {"ids": "channel==MINE", "startDate": "2026-09-01", "endDate": "2026-09-30"}
    days = (
        await client.get(
            REPORTS,
            params={
                **base,
                "dimensions": "day",
                "metrics": "views,estimatedMinutesWatched,averageViewDuration,likes,subscribersGained,subscribersLost",
            },
            headers=h,
        )
    ).json()
    assert days["kind"] == "youtubeAnalytics#resultTable" and len(days["rows"]) == 30
    assert [c["name"] for c in days["columnHeaders"]][:2] == ["day", "views"]
    demo = (
        await client.get(
            REPORTS, params={**base, "dimensions": "ageGroup,gender", "metrics": "viewerPercentage"}, headers=h
        )
    ).json()
    assert demo["rows"][0][0].startswith("age") and demo["rows"][0][1] in {"female", "male", "user_specified"}
    country = (
        await client.get(
            REPORTS, params={**base, "dimensions": "country", "metrics": "views", "sort": "-views"}, headers=h
        )
    ).json()["rows"]
    assert len(country[0][0]) == 2 and country[0][1] >= country[-1][1]
    city = {**base, "dimensions": "city", "metrics": "views"}
    assert (await client.get(REPORTS, params={**city, "maxResults": 10}, headers=h)).status_code == 400
    too_many = await client.get(REPORTS, params={**city, "sort": "-views", "maxResults": 251}, headers=h)
    assert too_many.status_code == 400
    ok = await client.get(REPORTS, params={**city, "sort": "-views", "maxResults": 250}, headers=h)
    assert ok.status_code == 200 and ", " in ok.json()["rows"][0][0]


async def test_data_api_on_both_hosts(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """google-api-python-client's bundled discovery document calls youtube.googleapis.com; the docs say
    www.googleapis.com. Both answer the same."""
    tok = await login(client, big(sandbox))
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    answers = []
    for host in ("www.googleapis.com", "youtube.googleapis.com"):
        channel = await client.get(
            f"/{host}/youtube/v3/channels", params={"part": "snippet,contentDetails", "mine": "true"}, headers=h
        )
        assert channel.status_code == 200, channel.text
        uploads = channel.json()["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
        items = await client.get(
            f"/{host}/youtube/v3/playlistItems",
            params={"part": "contentDetails", "playlistId": uploads, "maxResults": 5},
            headers=h,
        )
        ids = [i["contentDetails"]["videoId"] for i in items.json()["items"]]
        videos = await client.get(f"/{host}/youtube/v3/videos", params={"part": "id", "id": ",".join(ids)}, headers=h)
        playlists = await client.get(f"/{host}/youtube/v3/playlists", params={"part": "id", "mine": "true"}, headers=h)
        answers.append((channel.json(), ids, videos.json(), playlists.json()))
    assert answers[0] == answers[1]
