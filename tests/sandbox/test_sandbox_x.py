"""X fidelity: PKCE S256, Basic auth for confidential clients, offline.access, 7200 s, x-rate-limit-*."""

from __future__ import annotations

import base64
import hashlib

import httpx

from loupe.sandbox import Clock, create_app
from loupe.sandbox.state import Sandbox

from .conftest import REDIRECT, T0, authorize, callback

AUTH = "/x.com/i/oauth2/authorize"
TOKEN = "/api.x.com/2/oauth2/token"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
BASIC = {"Authorization": "Basic " + base64.b64encode(b"loupe-sandbox-twitter:sandbox-secret-twitter").decode()}


async def code_for(
    client: httpx.AsyncClient,
    account: str,
    scope: str = "tweet.read users.read offline.access",
    client_id: str = "loupe-sandbox-twitter",
    auth: str = AUTH,
) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "x1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params, _ = callback(await authorize(client, auth, query, account))
    return params["code"]


def form(code: str, verifier: str = VERIFIER) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": "loupe-sandbox-twitter",
    }


def big(sandbox: Sandbox) -> str:
    return max(sandbox.world.accounts["twitter"].values(), key=lambda a: a.history).id


async def test_pkce_required_and_verified(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    r = await client.get(
        AUTH,
        params={
            "response_type": "code",
            "client_id": "loupe-sandbox-twitter",
            "redirect_uri": REDIRECT,
            "scope": "tweet.read",
            "state": "s",
        },
    )
    assert r.status_code == 400  # no code_challenge
    code = await code_for(client, big(sandbox))
    bad = await client.post(TOKEN, data=form(code, "w" * 50), headers=BASIC)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_request"
    code = await code_for(client, big(sandbox))
    ok = await client.post(TOKEN, data=form(code), headers=BASIC)
    body = ok.json()
    assert ok.status_code == 200 and body["expires_in"] == 7200 and body["token_type"] == "bearer"
    assert body["refresh_token"] and body["scope"] == "tweet.read users.read offline.access"


async def test_basic_auth_required_for_confidential_client(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = await code_for(client, big(sandbox))
    r = await client.post(TOKEN, data=form(code))
    assert r.status_code == 401 and r.json()["error"] == "unauthorized_client"
    wrong = {"Authorization": "Basic " + base64.b64encode(b"loupe-sandbox-twitter:wrong").decode()}
    r = await client.post(TOKEN, data=form(code), headers=wrong)
    assert r.status_code == 401 and r.json()["error"] == "unauthorized_client"  # the secret is checked too


async def test_public_client_without_secret(sandbox: Sandbox) -> None:
    app = create_app(seed=42, clock=Clock(frozen_at=T0), credentials={"twitter": {"client_id": "pub"}})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        account = next(iter(app.state.sandbox.world.accounts["twitter"]))
        code = await code_for(c, account, client_id="pub")
        r = await c.post(TOKEN, data={**form(code), "client_id": "pub"})
        assert r.status_code == 200, r.text


async def test_refresh_token_only_with_offline_access_and_rotation(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = await code_for(client, big(sandbox), scope="tweet.read users.read")
    body = (await client.post(TOKEN, data=form(code), headers=BASIC)).json()
    assert "refresh_token" not in body
    code = await code_for(client, big(sandbox))
    body = (await client.post(TOKEN, data=form(code), headers=BASIC)).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "x"}
    new = (await client.post(TOKEN, data=refresh, headers=BASIC)).json()
    assert new["refresh_token"] != body["refresh_token"] and new["expires_in"] == 7200
    assert (await client.post(TOKEN, data=refresh, headers=BASIC)).status_code == 400


async def test_me_tweets_paging_and_rate_headers(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    code = await code_for(client, big(sandbox))
    token = (await client.post(TOKEN, data=form(code), headers=BASIC)).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api.x.com/2/users/me", params={"user.fields": "public_metrics,created_at"}, headers=h)
    data = me.json()["data"]
    assert set(data["public_metrics"]) >= {"followers_count", "following_count", "tweet_count", "listed_count"}
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= set(me.headers)
    url = f"/api.x.com/2/users/{data['id']}/tweets"
    params = {"max_results": 100, "tweet.fields": "created_at,public_metrics,entities"}
    seen, next_token = [], None
    while True:
        r = await client.get(
            url, params={**params, **({"pagination_token": next_token} if next_token else {})}, headers=h
        )
        body = r.json()
        seen += body["data"]
        assert int(r.headers["x-rate-limit-limit"]) == 900
        next_token = body["meta"].get("next_token")
        if not next_token:
            break
    assert len(seen) == data["public_metrics"]["tweet_count"] > 200
    assert seen[0]["created_at"].endswith(".000Z") and "hashtags" in seen[0]["entities"]
    tag = seen[0]["entities"]["hashtags"][0]
    assert seen[0]["text"][tag["start"] : tag["end"]] == "#" + tag["tag"]
    bad = await client.get(url, params={"max_results": 3}, headers=h)
    assert bad.status_code == 400
    sandbox.limits.x_per_15min["users_me"] = 1  # one call already made
    r = await client.get("/api.x.com/2/users/me", headers=h)
    assert r.status_code == 429 and r.headers["x-rate-limit-remaining"] == "0"
    assert r.json()["title"] == "Too Many Requests" and r.headers["content-type"].startswith("application/problem")
    assert (await client.get("/api.x.com/2/users/me", headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_twitter_hosts_answer_like_x_hosts(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    """tweepy calls twitter.com/i/oauth2/authorize and api.twitter.com/2/...: the same API as x.com's."""
    code = await code_for(client, big(sandbox), auth="/twitter.com/i/oauth2/authorize")
    body = (await client.post("/api.twitter.com/2/oauth2/token", data=form(code), headers=BASIC)).json()
    assert body["expires_in"] == 7200 and body["refresh_token"]
    h = {"Authorization": f"Bearer {body['access_token']}"}
    answers = []
    for host in ("api.x.com", "api.twitter.com"):
        me = (await client.get(f"/{host}/2/users/me", headers=h)).json()["data"]
        tweets = (await client.get(f"/{host}/2/users/{me['id']}/tweets", params={"max_results": 5}, headers=h)).json()
        ids = ",".join(t["id"] for t in tweets["data"])
        lookup = (await client.get(f"/{host}/2/tweets", params={"ids": ids}, headers=h)).json()
        by_name = (await client.get(f"/{host}/2/users/by/username/{me['username']}", headers=h)).json()
        answers.append((me, tweets, lookup, by_name))
    assert answers[0] == answers[1]
    revoke = {"token": body["access_token"], "token_type_hint": "access_token", "client_id": "loupe-sandbox-twitter"}
    assert (await client.post("/api.twitter.com/2/oauth2/revoke", data=revoke, headers=BASIC)).status_code == 200
    assert (await client.get("/api.x.com/2/users/me", headers=h)).status_code == 401
