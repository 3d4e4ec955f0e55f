"""Instagram API with Instagram Login (api.instagram.com / graph.instagram.com), respx-mocked."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from loupe.connectors import ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError
from loupe.connectors.models import utcnow

from .conftest import SECRET, token

GI = "https://graph.instagram.com"


@pytest.fixture
def igl(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("instagram", config, http, instagram_login="instagram")


def q(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_authorization_url(igl) -> None:
    auth = igl.authorization_url("https://app.test/cb", state="s")
    assert auth.url.startswith("https://www.instagram.com/oauth/authorize?")
    params = q(httpx.Request("GET", auth.url))
    assert params["scope"] == "instagram_business_basic,instagram_business_manage_insights"
    assert (params["client_id"], params["response_type"], params["state"]) == ("id-instagram", "code", "s")


@pytest.mark.parametrize(
    "body",
    [
        {"data": [{"access_token": "IGshort", "user_id": 1784, "permissions": "instagram_business_basic"}]},
        {"access_token": "IGshort", "user_id": 1784, "permissions": ["instagram_business_basic"]},
    ],
)
async def test_exchange_accepts_both_shapes(igl, router: respx.MockRouter, body) -> None:
    route = router.post("https://api.instagram.com/oauth/access_token").respond(json=body)
    tok = await igl.exchange_code("CODE", "https://app.test/cb")
    assert (tok.secret(), tok.user_id, tok.scopes) == ("IGshort", "1784", ["instagram_business_basic"])
    assert form(route.calls[0].request) == {
        "client_id": "id-instagram",
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "redirect_uri": "https://app.test/cb",
        "code": "CODE",
    }


async def test_used_code_is_bad_request(igl, router: respx.MockRouter) -> None:
    router.post("https://api.instagram.com/oauth/access_token").respond(
        400,
        json={
            "error_type": "OAuthException",
            "code": 400,
            "error_message": "Matching code was not found or was already used",
        },
    )
    with pytest.raises(ConnectorError) as exc:
        await igl.exchange_code("CODE", "https://app.test/cb")
    assert exc.value.kind is ErrorKind.BAD_REQUEST and "already used" in exc.value.message


async def test_long_lived_and_refresh(igl, router: respx.MockRouter) -> None:
    exch = router.get(f"{GI}/access_token").respond(
        json={"access_token": "IGlong", "token_type": "bearer", "expires_in": 5183944}
    )
    refresh = router.get(f"{GI}/refresh_access_token").respond(
        json={"access_token": "IGlong2", "token_type": "bearer", "expires_in": 5183944}
    )
    long = await igl.upgrade_token(token("IGshort", user_id="1784"))
    assert q(exch.calls[0].request) == {
        "grant_type": "ig_exchange_token",
        "client_secret": SECRET,
        "access_token": "IGshort",
    }
    assert long.long_lived and long.user_id == "1784"
    assert 5183944 - 5 < (long.expires_at - utcnow()).total_seconds() <= 5183944
    old = long.model_copy(update={"issued_at": utcnow() - timedelta(days=2)})
    newer = await igl.refresh(old)
    assert newer.secret() == "IGlong2"
    assert q(refresh.calls[0].request) == {"grant_type": "ig_refresh_token", "access_token": "IGlong"}


async def test_refresh_refused_under_24h_is_bad_request(igl, router: respx.MockRouter) -> None:
    router.get(f"{GI}/refresh_access_token").respond(
        400,
        json={
            "error": {
                "message": "(#100) The access token must be at least 24 hours old to be refreshed",
                "type": "OAuthException",
                "code": 100,
            }
        },
    )
    with pytest.raises(ConnectorError) as exc:
        await igl.refresh(token("IGlong", long_lived=True))
    assert exc.value.kind is ErrorKind.BAD_REQUEST and "24 h" in exc.value.message
    assert not exc.value.needs_reauth


async def test_refresh_after_expiry(igl, router: respx.MockRouter) -> None:
    route = router.get(f"{GI}/refresh_access_token")
    with pytest.raises(ConnectorError) as exc:
        await igl.refresh(token("IGlong", expires_at=utcnow() - timedelta(minutes=1)))
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED and not route.called
    # Our clock may lag the platform's: its 190/463 is mapped the same way.
    route.respond(
        400,
        json={
            "error": {
                "message": "Error validating access token: Session has expired",
                "type": "OAuthException",
                "code": 190,
                "error_subcode": 463,
            }
        },
    )
    with pytest.raises(ConnectorError) as exc:
        await igl.refresh(token("IGlong", issued_at=utcnow() - timedelta(days=61)))
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED


async def test_accounts_profile_and_no_appsecret_proof(igl, router: respx.MockRouter) -> None:
    me = router.get(f"{GI}/v23.0/me").respond(
        json={
            "user_id": "1784",
            "username": "ana",
            "name": "Ana",
            "account_type": "MEDIA_CREATOR",
            "followers_count": 900,
            "follows_count": 10,
            "media_count": 5,
        }
    )
    accounts = await igl.list_accounts(token("IGlong"))
    assert [(a.id, a.username) for a in accounts] == [("1784", "ana")]
    request = me.calls[0].request
    assert "appsecret_proof" not in q(request) and request.headers["authorization"] == "Bearer IGlong"
    profile = await igl.fetch_profile(token("IGlong"), "1784")
    assert (profile.id, profile.followers, profile.account_type) == ("1784", 900, "MEDIA_CREATOR")


async def test_personal_account_is_not_professional(igl, router: respx.MockRouter) -> None:
    router.get(f"{GI}/v23.0/me").respond(json={"user_id": "1", "username": "p", "account_type": "PERSONAL"})
    with pytest.raises(ConnectorError) as exc:
        await igl.list_accounts(token())
    assert exc.value.kind is ErrorKind.NOT_PROFESSIONAL_ACCOUNT


async def test_media_on_instagram_host(igl, router: respx.MockRouter) -> None:
    route = router.get(f"{GI}/v23.0/1784/media").respond(
        json={
            "data": [
                {
                    "id": "m1",
                    "media_type": "IMAGE",
                    "media_product_type": "FEED",
                    "timestamp": "2024-06-17T19:39:18+0000",
                }
            ],
            "paging": {"cursors": {"after": "x"}},
        }
    )
    items = await igl.fetch_contents(token(), "1784")
    assert [c.id for c in items] == ["m1"] and route.call_count == 1


async def test_revoke_is_a_no_op(igl, router: respx.MockRouter) -> None:
    assert await igl.revoke(token()) is None
    assert not router.calls
