"""Twitch (id.twitch.tv + Helix), respx-mocked."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from loupe.connectors import ContentType, ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError

from .conftest import SECRET, token

ID = "https://id.twitch.tv/oauth2"
HELIX = "https://api.twitch.tv/helix"


@pytest.fixture
def tw(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("twitch", config, http)


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def qs(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query)


def test_authorization_url(tw) -> None:
    auth = tw.authorization_url("https://app.test/cb")
    params = {k: v[0] for k, v in qs(httpx.Request("GET", auth.url)).items()}
    assert auth.url.startswith("https://id.twitch.tv/oauth2/authorize?")
    assert (params["scope"], params["force_verify"], params["response_type"]) == (
        "moderator:read:followers",
        "true",
        "code",
    )


async def test_exchange_validates_with_oauth_header(tw, router: respx.MockRouter) -> None:
    route = router.post(f"{ID}/token").respond(
        json={
            "access_token": "tw1",
            "expires_in": 14124,
            "refresh_token": "twr1",
            "scope": ["moderator:read:followers"],
            "token_type": "bearer",
        }
    )
    validate = router.get(f"{ID}/validate").respond(
        json={
            "client_id": "id-twitch",
            "login": "streamer",
            "scopes": ["moderator:read:followers"],
            "user_id": "99",
            "expires_in": 14000,
        }
    )
    tok = await tw.exchange_code("c", "https://app.test/cb")
    assert form(route.calls[0].request) == {
        "client_id": "id-twitch",
        "client_secret": SECRET,
        "code": "c",
        "grant_type": "authorization_code",
        "redirect_uri": "https://app.test/cb",
    }
    assert validate.calls[0].request.headers["authorization"] == "OAuth tw1"
    assert (tok.scopes, tok.user_id, tok.refresh_secret()) == (["moderator:read:followers"], "99", "twr1")


async def test_refresh_rotation_and_invalid_refresh(tw, router: respx.MockRouter) -> None:
    route = router.post(f"{ID}/token").respond(
        json={
            "access_token": "tw2",
            "expires_in": 14124,
            "refresh_token": "twr2",
            "scope": ["a"],
            "token_type": "bearer",
        }
    )
    newer = await tw.refresh(token("tw1", refresh="twr1"))
    assert newer.refresh_secret() == "twr2" and form(route.calls[0].request)["refresh_token"] == "twr1"
    route.respond(400, json={"status": 400, "message": "Invalid refresh token"})
    with pytest.raises(ConnectorError) as exc:
        await tw.refresh(token("tw1", refresh="twr1"))
    assert exc.value.kind is ErrorKind.AUTH_REVOKED


async def test_revoke(tw, router: respx.MockRouter) -> None:
    route = router.post(f"{ID}/revoke").respond(200)
    await tw.revoke(token("tw1"))
    assert form(route.calls[0].request) == {"client_id": "id-twitch", "token": "tw1"}


async def test_every_helix_call_sends_client_id(tw, router: respx.MockRouter) -> None:
    users = router.get(f"{HELIX}/users").respond(
        json={
            "data": [
                {
                    "id": "99",
                    "login": "streamer",
                    "display_name": "Streamer",
                    "broadcaster_type": "affiliate",
                    "description": "hi",
                    "view_count": 5,
                    "created_at": "2019-01-01T00:00:00Z",
                }
            ]
        }
    )
    followers = router.get(f"{HELIX}/channels/followers").respond(json={"total": 8, "data": [], "pagination": {}})
    [account] = await tw.list_accounts(token("tw1"))
    profile = await tw.fetch_profile(token("tw1"), "99")
    assert account.id == "99" and profile.followers == 8 and profile.username == "streamer"
    for call in [*users.calls, *followers.calls]:
        assert call.request.headers["client-id"] == "id-twitch"
        assert call.request.headers["authorization"] == "Bearer tw1"
    assert qs(followers.calls[0].request)["broadcaster_id"] == ["99"]


def vod(i: int, kind: str = "archive", duration: str = "3m21s") -> dict:
    return {
        "id": str(i),
        "user_id": "99",
        "title": f"stream {i}",
        "description": "",
        "url": f"https://twitch.tv/v/{i}",
        "created_at": "2024-02-01T00:00:00Z",
        "published_at": "2024-02-01T00:00:00Z",
        "view_count": 70 + i,
        "type": kind,
        "duration": duration,
        "language": "en",
    }


async def test_videos_paging_and_durations(tw, router: respx.MockRouter) -> None:
    route = router.get(f"{HELIX}/videos").mock(
        side_effect=[
            httpx.Response(200, json={"data": [vod(1), vod(2, "highlight", "1h2m3s")], "pagination": {"cursor": "C2"}}),
            httpx.Response(200, json={"data": [vod(3, "upload", "45s")], "pagination": {}}),
        ]
    )
    items = await tw.fetch_contents(token(), "99")
    assert qs(route.calls[1].request)["after"] == ["C2"]
    assert qs(route.calls[0].request)["type"] == ["all"]
    assert [(c.type, c.duration_seconds) for c in items] == [
        (ContentType.STREAM, 201),
        (ContentType.HIGHLIGHT, 3723),
        (ContentType.VIDEO, 45),
    ]
    assert items[0].metrics.views == 71 and items[0].published_at == datetime(2024, 2, 1, tzinfo=UTC)


async def test_video_metrics_repeat_id_param(tw, router: respx.MockRouter) -> None:
    route = router.get(f"{HELIX}/videos").respond(json={"data": [vod(1), vod(2)]})
    metrics = await tw.fetch_content_metrics(token(), "99", ["1", "2"])
    assert qs(route.calls[0].request)["id"] == ["1", "2"]
    assert {k: v.views for k, v in metrics.items()} == {"1": 71, "2": 72}


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, {"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}, ErrorKind.AUTH_EXPIRED),
        (
            401,
            {"error": "Unauthorized", "status": 401, "message": "Missing scope: moderator:read:followers"},
            ErrorKind.PERMISSION_MISSING,
        ),
        (400, {"error": "Bad Request", "status": 400, "message": "Malformed query params."}, ErrorKind.BAD_REQUEST),
        (404, {"error": "Not Found", "status": 404, "message": "nope"}, ErrorKind.NOT_FOUND),
        (503, {"error": "Service Unavailable", "status": 503, "message": ""}, ErrorKind.TRANSIENT),
    ],
)
async def test_helix_errors(tw, router: respx.MockRouter, status, body, kind) -> None:
    router.get(f"{HELIX}/users").respond(status, json=body)
    with pytest.raises(ConnectorError) as exc:
        await tw.list_accounts(token())
    assert exc.value.kind is kind


async def test_rate_limit_headers(tw, router: respx.MockRouter) -> None:
    reset = int(time.time()) + 40
    headers = {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0", "Ratelimit-Reset": str(reset)}
    router.get(f"{HELIX}/users").respond(
        429, json={"error": "Too Many Requests", "status": 429, "message": ""}, headers=headers
    )
    with pytest.raises(ConnectorError) as exc:
        await tw.list_accounts(token())
    assert exc.value.kind is ErrorKind.RATE_LIMITED and 35 <= exc.value.retry_after <= 40
    assert (tw.last_rate_limit.limit, tw.last_rate_limit.remaining) == (800, 0)


async def test_rate_limit_wait_is_not_taken_from_an_older_answer(tw, router: respx.MockRouter) -> None:
    old = {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "799", "Ratelimit-Reset": str(int(time.time()) + 50)}
    router.get(f"{HELIX}/users").mock(
        side_effect=[
            httpx.Response(200, json={"data": []}, headers=old),
            httpx.Response(429, json={"error": "Too Many Requests", "status": 429}, headers={"Retry-After": "7"}),
        ]
    )
    await tw.list_accounts(token())
    with pytest.raises(ConnectorError) as exc:
        await tw.list_accounts(token())
    assert exc.value.kind is ErrorKind.RATE_LIMITED and exc.value.retry_after == 7
