"""TikTok Login Kit v2 + Display API, respx-mocked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from loupe.connectors import ContentType, ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError
from loupe.connectors.models import utcnow

from .conftest import SECRET, token

API = "https://open.tiktokapis.com"
OK = {"code": "ok", "message": "", "log_id": "L1"}


@pytest.fixture
def tt(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("tiktok", config, http)


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_authorization_url_uses_client_key_and_pkce(tt) -> None:
    auth = tt.authorization_url("https://app.test/cb")
    parts = urlsplit(auth.url)
    assert (parts.netloc, parts.path) == ("www.tiktok.com", "/v2/auth/authorize/")
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["client_key"] == "id-tiktok" and "client_id" not in params
    assert params["scope"] == "user.info.basic,user.info.profile,user.info.stats,video.list"
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == create_s256_code_challenge(auth.code_verifier.get_secret_value())
    assert params["state"] == auth.state


async def test_exchange_and_refresh_rotation(tt, router: respx.MockRouter) -> None:
    route = router.post(f"{API}/v2/oauth/token/").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "access_token": "act.1",
                    "expires_in": 7200,  # today's lifetimes: 2 h access, 180 days refresh
                    "open_id": "OPEN1",
                    "refresh_expires_in": 15552000,
                    "refresh_token": "rft.1",
                    "scope": "user.info.basic,video.list",
                    "token_type": "Bearer",
                },
            ),
            httpx.Response(
                200,
                json={
                    "access_token": "act.2",
                    "expires_in": 7200,
                    "open_id": "OPEN1",
                    "refresh_expires_in": 15552000,
                    "refresh_token": "rft.2",
                    "scope": "user.info.basic,video.list",
                    "token_type": "Bearer",
                },
            ),
        ]
    )
    first = await tt.exchange_code("CODE", "https://app.test/cb", code_verifier="v" * 50)
    assert form(route.calls[0].request) == {
        "client_key": "id-tiktok",
        "client_secret": SECRET,
        "code": "CODE",
        "grant_type": "authorization_code",
        "redirect_uri": "https://app.test/cb",
        "code_verifier": "v" * 50,
    }
    assert (first.user_id, first.scopes, first.refresh_secret()) == (
        "OPEN1",
        ["user.info.basic", "video.list"],
        "rft.1",
    )
    assert abs((first.expires_at - utcnow()).total_seconds() - 7200) < 5
    assert abs((first.refresh_expires_at - utcnow()).total_seconds() - 15552000) < 5
    second = await tt.refresh(first)
    assert form(route.calls[1].request) == {
        "client_key": "id-tiktok",
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": "rft.1",
    }
    assert (second.secret(), second.refresh_secret()) == ("act.2", "rft.2")  # the newest refresh token
    assert abs((second.expires_at - utcnow()).total_seconds() - 7200) < 5
    assert abs((second.refresh_expires_at - utcnow()).total_seconds() - 15552000) < 5


async def test_old_refresh_token_after_rotation(tt, router: respx.MockRouter) -> None:
    router.post(f"{API}/v2/oauth/token/").respond(
        200, json={"error": "invalid_grant", "error_description": "Refresh token is invalid or expired.", "log_id": "L"}
    )
    with pytest.raises(ConnectorError) as exc:
        await tt.refresh(token(refresh="rft.old", refresh_expires_at=utcnow() + timedelta(days=100)))
    assert exc.value.kind is ErrorKind.AUTH_REVOKED and exc.value.code == "invalid_grant"
    with pytest.raises(ConnectorError) as exc:
        await tt.refresh(token(refresh="rft.old", refresh_expires_at=utcnow() - timedelta(days=1)))
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED
    with pytest.raises(ConnectorError) as exc:
        await tt.exchange_code("used", "https://app.test/cb")
    assert exc.value.kind is ErrorKind.BAD_REQUEST


async def test_revoke(tt, router: respx.MockRouter) -> None:
    route = router.post(f"{API}/v2/oauth/revoke/").respond(json={})
    await tt.revoke(token("act.9"))
    assert form(route.calls[0].request) == {"client_key": "id-tiktok", "client_secret": SECRET, "token": "act.9"}


async def test_profile_with_ok_error_code(tt, router: respx.MockRouter) -> None:
    route = router.get(f"{API}/v2/user/info/").respond(
        json={
            "data": {
                "user": {
                    "open_id": "OPEN1",
                    "username": "tk",
                    "display_name": "TK",
                    "follower_count": 1500,
                    "following_count": 3,
                    "likes_count": 42000,
                    "video_count": 77,
                    "is_verified": False,
                }
            },
            "error": OK,
        }
    )
    profile = await tt.fetch_profile(token("act.1"), "OPEN1")
    assert (profile.followers, profile.content_count, profile.extras["likes_count"]) == (1500, 77, 42000)
    assert route.calls[0].request.headers["authorization"] == "Bearer act.1"
    assert "follower_count" in parse_qs(urlsplit(str(route.calls[0].request.url)).query)["fields"][0]
    [account] = await tt.list_accounts(token())
    assert (account.id, account.username) == ("OPEN1", "tk")
    audience = await tt.fetch_audience(token(), "OPEN1")
    assert not audience.available


def video(i: int, created: datetime) -> dict:
    return {
        "id": f"v{i}",
        "create_time": int(created.timestamp()),
        "title": f"t{i}",
        "video_description": f"d{i}",
        "share_url": f"https://www.tiktok.com/@tk/video/{i}",
        "duration": 15,
        "like_count": i,
        "comment_count": 2,
        "share_count": 5,
        "view_count": 100,
    }


async def test_video_list_paging_with_ms_cursor(tt, router: respx.MockRouter) -> None:
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    route = router.post(f"{API}/v2/video/list/").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": {
                        "videos": [video(1, t0), video(2, t0 - timedelta(days=1))],
                        "cursor": 1709164800000,
                        "has_more": True,
                    },
                    "error": OK,
                },
            ),
            httpx.Response(
                200,
                json={
                    "data": {"videos": [video(3, t0 - timedelta(days=2))], "cursor": 1709078400000, "has_more": False},
                    "error": OK,
                },
            ),
        ]
    )
    items = await tt.fetch_contents(token(), "OPEN1")
    assert [json.loads(c.request.content) for c in route.calls] == [
        {"max_count": 20},
        {"max_count": 20, "cursor": 1709164800000},
    ]
    assert [c.id for c in items] == ["v1", "v2", "v3"]
    assert items[0].published_at == t0  # create_time is in seconds
    assert items[0].type is ContentType.VIDEO
    assert (items[0].metrics.shares, items[0].metrics.views) == (5, 100)


@pytest.mark.parametrize(("page_size", "sent"), [(None, 20), (50, 20), (5, 5), (0, 20)])
async def test_video_list_always_sends_max_count(tt, router: respx.MockRouter, page_size, sent) -> None:
    """Without `max_count` TikTok answers 10 a page: the connector always says how many it wants."""
    route = router.post(f"{API}/v2/video/list/").respond(
        json={"data": {"videos": [], "cursor": 0, "has_more": False}, "error": OK}
    )
    await tt.fetch_content_page(token(), "OPEN1", page_size=page_size)
    assert json.loads(route.calls[0].request.content) == {"max_count": sent}


async def test_since_stops_listing(tt, router: respx.MockRouter) -> None:
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    route = router.post(f"{API}/v2/video/list/").respond(
        json={
            "data": {"videos": [video(1, t0), video(2, t0 - timedelta(days=10))], "cursor": 1, "has_more": True},
            "error": OK,
        }
    )
    items = await tt.fetch_contents(token(), "OPEN1", since=t0 - timedelta(days=5))
    assert [c.id for c in items] == ["v1"] and route.call_count == 1


async def test_video_query_in_chunks_of_20(tt, router: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["filters"]["video_ids"]
        return httpx.Response(
            200, json={"data": {"videos": [{"id": i, "share_count": 4, "view_count": 9} for i in ids]}, "error": OK}
        )

    route = router.post(f"{API}/v2/video/query/").mock(side_effect=answer)
    ids = [f"v{i}" for i in range(25)]
    metrics = await tt.fetch_content_metrics(token(), "OPEN1", ids)
    assert [len(json.loads(c.request.content)["filters"]["video_ids"]) for c in route.calls] == [20, 5]
    assert set(metrics) == set(ids) and metrics["v24"].shares == 4


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "access_token_invalid", ErrorKind.AUTH_EXPIRED),
        (401, "scope_not_authorized", ErrorKind.PERMISSION_MISSING),
        (400, "invalid_params", ErrorKind.BAD_REQUEST),
        (429, "rate_limit_exceeded", ErrorKind.RATE_LIMITED),
        (500, "internal_error", ErrorKind.TRANSIENT),
        (503, "something_new", ErrorKind.TRANSIENT),
    ],
)
async def test_api_errors(tt, router: respx.MockRouter, status, code, kind) -> None:
    router.get(f"{API}/v2/user/info/").respond(
        status, json={"data": {}, "error": {"code": code, "message": "nope", "log_id": "L"}}
    )
    with pytest.raises(ConnectorError) as exc:
        await tt.fetch_profile(token(), "OPEN1")
    assert exc.value.kind is kind and exc.value.code == code
    if kind is ErrorKind.RATE_LIMITED:
        assert exc.value.retry_after == 60  # TikTok sends no headers: our default
