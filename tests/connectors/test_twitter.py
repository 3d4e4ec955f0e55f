"""X API v2, respx-mocked."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from loupe.connectors import ContentType, ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError

from .conftest import SECRET, token

API = "https://api.x.com/2"


@pytest.fixture
def x(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("twitter", config, http)


def q(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_pkce_is_always_on(x) -> None:
    auth = x.authorization_url("https://app.test/cb")
    params = q(httpx.Request("GET", auth.url))
    assert auth.url.startswith("https://x.com/i/oauth2/authorize?")
    assert params["scope"] == "tweet.read users.read offline.access"
    assert params["code_challenge"] == create_s256_code_challenge(auth.code_verifier.get_secret_value())
    assert params["code_challenge_method"] == "S256"
    assert 43 <= len(auth.code_verifier.get_secret_value()) <= 128


async def test_exchange_needs_verifier_and_sends_basic_auth(x, router: respx.MockRouter) -> None:
    route = router.post(f"{API}/oauth2/token").respond(
        json={
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": "xa1",
            "scope": "tweet.read users.read offline.access",
            "refresh_token": "xr1",
        }
    )
    with pytest.raises(ConnectorError) as exc:
        await x.exchange_code("code", "https://app.test/cb")
    assert exc.value.kind is ErrorKind.BAD_REQUEST and not route.called
    tok = await x.exchange_code("code", "https://app.test/cb", code_verifier="ver")
    request = route.calls[0].request
    expected = base64.b64encode(f"id-twitter:{SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "code",
        "redirect_uri": "https://app.test/cb",
        "code_verifier": "ver",
        "client_id": "id-twitter",
    }
    assert tok.scopes == ["tweet.read", "users.read", "offline.access"] and tok.refresh_secret() == "xr1"


async def test_refresh_rotates(x, router: respx.MockRouter) -> None:
    route = router.post(f"{API}/oauth2/token").respond(
        json={
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": "xa2",
            "scope": "tweet.read",
            "refresh_token": "xr2",
        }
    )
    newer = await x.refresh(token("xa1", refresh="xr1"))
    assert (newer.secret(), newer.refresh_secret()) == ("xa2", "xr2")
    assert form(route.calls[0].request)["refresh_token"] == "xr1"
    assert route.calls[0].request.headers["authorization"].startswith("Basic ")


async def test_no_offline_access_no_refresh(x, router: respx.MockRouter) -> None:
    route = router.post(f"{API}/oauth2/token")
    with pytest.raises(ConnectorError) as exc:
        await x.refresh(token("xa1"))
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED and not route.called


async def test_bad_refresh_token(x, router: respx.MockRouter) -> None:
    router.post(f"{API}/oauth2/token").respond(
        400, json={"error": "invalid_request", "error_description": "Value passed for the token was invalid."}
    )
    with pytest.raises(ConnectorError) as exc:
        await x.refresh(token("xa1", refresh="xr-old"))
    assert exc.value.kind is ErrorKind.AUTH_REVOKED


async def test_revoke_both_tokens(x, router: respx.MockRouter) -> None:
    route = router.post(f"{API}/oauth2/revoke").respond(json={"revoked": True})
    await x.revoke(token("xa1", refresh="xr1"))
    assert [form(c.request)["token_type_hint"] for c in route.calls] == ["refresh_token", "access_token"]
    assert [form(c.request)["token"] for c in route.calls] == ["xr1", "xa1"]


async def test_profile_keeps_tweet_count(x, router: respx.MockRouter) -> None:
    route = router.get(f"{API}/users/me").respond(
        json={
            "data": {
                "id": "42",
                "name": "Jo",
                "username": "jo",
                "created_at": "2015-01-01T00:00:00.000Z",
                "public_metrics": {
                    "followers_count": 500,
                    "following_count": 20,
                    "tweet_count": 1234,
                    "listed_count": 3,
                },
            }
        }
    )
    profile = await x.fetch_profile(token(), "42")
    assert (profile.followers, profile.extras["tweet_count"], profile.content_count) == (500, 1234, 1234)
    assert "public_metrics" in q(route.calls[0].request)["user.fields"]


def tweet(i: int) -> dict:
    return {
        "id": str(i),
        "text": f"hello #tag{i}",
        "created_at": "2024-01-01T00:00:00.000Z",
        "public_metrics": {
            "retweet_count": 2,
            "reply_count": 3,
            "like_count": 10,
            "quote_count": 1,
            "bookmark_count": 4,
            "impression_count": 900,
        },
        "entities": {"hashtags": [{"start": 6, "end": 11, "tag": f"tag{i}"}]},
    }


async def test_timeline_paging(x, router: respx.MockRouter) -> None:
    route = router.get(f"{API}/users/42/tweets").mock(
        side_effect=[
            httpx.Response(200, json={"data": [tweet(3), tweet(2)], "meta": {"result_count": 2, "next_token": "NT"}}),
            httpx.Response(200, json={"data": [tweet(1)], "meta": {"result_count": 1}}),
        ]
    )
    items = await x.fetch_contents(token(), "42", since=datetime(2023, 12, 1, tzinfo=UTC))
    first = q(route.calls[0].request)
    assert (first["exclude"], first["start_time"], first["max_results"]) == (
        "retweets,replies",
        "2023-12-01T00:00:00Z",
        "100",
    )
    assert q(route.calls[1].request)["pagination_token"] == "NT"
    assert [c.id for c in items] == ["3", "2", "1"] and items[0].type is ContentType.TWEET
    m = items[0].metrics
    assert (m.likes, m.comments, m.shares, m.saves, m.views) == (10, 3, 3, 4, 900)
    assert items[0].extras["hashtags"] == ["tag3"]


async def test_partial_errors_in_200(x, router: respx.MockRouter) -> None:
    router.get(f"{API}/tweets").respond(
        json={
            "data": [{"id": "1", "public_metrics": {"like_count": 5}}],
            "errors": [
                {
                    "value": "2",
                    "detail": "Could not find tweet with ids: [2].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": "2",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ],
        }
    )
    metrics = await x.fetch_content_metrics(token(), "42", ["1", "2"])
    assert list(metrics) == ["1"] and metrics["1"].likes == 5
    # Every requested tweet deleted: X answers errors[] alone; that is "none left", not a failure.
    router.get(f"{API}/tweets").respond(
        json={
            "errors": [
                {
                    "value": "2",
                    "detail": "Could not find tweet with ids: [2].",
                    "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ]
        }
    )
    assert await x.fetch_content_metrics(token(), "42", ["2"]) == {}
    router.get(f"{API}/users/me").respond(
        json={
            "errors": [
                {
                    "detail": "Could not find user",
                    "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ]
        }
    )
    with pytest.raises(ConnectorError) as exc:
        await x.fetch_profile(token(), "42")
    assert exc.value.kind is ErrorKind.NOT_FOUND


async def test_problem_json_and_rate_limit_headers(x, router: respx.MockRouter) -> None:
    reset = int(time.time()) + 300
    route = router.get(f"{API}/users/me")
    route.respond(401, json={"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
    with pytest.raises(ConnectorError) as exc:
        await x.fetch_profile(token(), "42")
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED
    route.respond(
        429,
        json={"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
        headers={"x-rate-limit-limit": "75", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    with pytest.raises(ConnectorError) as exc:
        await x.fetch_profile(token(), "42")
    assert exc.value.kind is ErrorKind.RATE_LIMITED
    assert 295 <= exc.value.retry_after <= 300
    state = x.last_rate_limit
    assert (state.limit, state.remaining) == (75, 0) and state.reset_at == datetime.fromtimestamp(reset, UTC)
    route.respond(403, json={"title": "Forbidden", "detail": "not permitted", "type": "about:blank", "status": 403})
    with pytest.raises(ConnectorError) as exc:
        await x.fetch_profile(token(), "42")
    assert exc.value.kind is ErrorKind.PERMISSION_MISSING
