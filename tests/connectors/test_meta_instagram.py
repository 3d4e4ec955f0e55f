"""Instagram API with Facebook Login (graph.facebook.com), respx-mocked."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from loupe.connectors import ContentMedia, ContentType, ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError
from loupe.connectors.models import utcnow

from .conftest import SECRET, token

G = "https://graph.facebook.com/v23.0"
IG = "17841400000000001"


@pytest.fixture
def ig(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("instagram", config, http)


def q(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def graph_error(code: int, subcode: int | None = None, message: str = "boom", status: int = 400) -> httpx.Response:
    err = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "x"}
    if subcode is not None:
        err["error_subcode"] = subcode
    return httpx.Response(status, json={"error": err})


def test_authorization_url(ig) -> None:
    auth = ig.authorization_url("https://app.test/cb", state="st-1")
    parts = urlsplit(auth.url)
    assert (parts.netloc, parts.path) == ("www.facebook.com", "/v23.0/dialog/oauth")
    assert q(httpx.Request("GET", auth.url)) == {
        "client_id": "id-instagram",
        "redirect_uri": "https://app.test/cb",
        "response_type": "code",
        "scope": "instagram_basic,instagram_manage_insights,pages_show_list,pages_read_engagement",
        "state": "st-1",
    }
    assert auth.code_verifier is None
    assert len(ig.authorization_url("https://app.test/cb").state) >= 32  # generated when not given


async def test_exchange_upgrade_and_debug_token(ig, router: respx.MockRouter) -> None:
    oauth = router.get(f"{G}/oauth/access_token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "short-tok", "token_type": "bearer", "expires_in": 5400}),
            httpx.Response(200, json={"access_token": "long-tok", "token_type": "bearer", "expires_in": 5183944}),
        ]
    )
    debug = router.get(f"{G}/debug_token").respond(
        json={
            "data": {
                "app_id": "id-instagram",
                "type": "USER",
                "is_valid": True,
                "expires_at": 1900000000,
                "data_access_expires_at": 1890000000,
                "issued_at": 1880000000,
                "scopes": ["instagram_basic", "pages_show_list"],
                "user_id": "555",
            }
        }
    )
    short = await ig.exchange_code("AQcode", "https://app.test/cb")
    assert short.secret() == "short-tok" and not short.long_lived
    assert short.expires_at is not None and abs((short.expires_at - utcnow()).total_seconds() - 5400) < 5
    assert q(oauth.calls[0].request) == {
        "client_id": "id-instagram",
        "redirect_uri": "https://app.test/cb",
        "client_secret": SECRET,
        "code": "AQcode",
    }
    long = await ig.upgrade_token(short)
    assert q(oauth.calls[1].request) == {
        "grant_type": "fb_exchange_token",
        "client_id": "id-instagram",
        "client_secret": SECRET,
        "fb_exchange_token": "short-tok",
    }
    assert long.secret() == "long-tok" and long.long_lived
    assert long.scopes == ["instagram_basic", "pages_show_list"]
    assert long.data_access_expires_at == datetime.fromtimestamp(1890000000, UTC)
    assert long.expires_at == datetime.fromtimestamp(1900000000, UTC)
    assert long.user_id == "555"
    assert q(debug.calls[0].request)["input_token"] == "long-tok"
    assert q(debug.calls[0].request)["access_token"] == f"id-instagram|{SECRET}"


async def test_expired_token_cannot_be_exchanged(ig, router: respx.MockRouter) -> None:
    route = router.get(f"{G}/oauth/access_token")
    with pytest.raises(ConnectorError) as exc:
        await ig.upgrade_token(token(expires_at=utcnow() - timedelta(seconds=1)))
    assert exc.value.kind is ErrorKind.AUTH_EXPIRED
    assert not route.called


async def test_graph_calls_carry_appsecret_proof_and_bearer(ig, router: respx.MockRouter) -> None:
    route = router.get(f"{G}/{IG}").respond(
        json={
            "id": IG,
            "username": "ana",
            "followers_count": 1200,
            "follows_count": 80,
            "media_count": 33,
            "name": "Ana",
        }
    )
    profile = await ig.fetch_profile(token("EAAtok"), IG)
    req = route.calls[0].request
    assert q(req)["appsecret_proof"] == hmac.new(SECRET.encode(), b"EAAtok", hashlib.sha256).hexdigest()
    assert "access_token" not in q(req)  # token in the header, not the URL
    assert req.headers["authorization"] == "Bearer EAAtok"
    assert (profile.username, profile.followers, profile.following, profile.content_count) == ("ana", 1200, 80, 33)
    assert profile.url == "https://www.instagram.com/ana/"


async def test_list_accounts_walks_pages_and_flags_pages_without_ig(ig, router: respx.MockRouter) -> None:
    accounts_route = router.get(f"{G}/me/accounts").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "id": "p1",
                            "name": "Page One",
                            "access_token": "pt1",
                            "instagram_business_account": {"id": IG},
                        }
                    ],
                    "paging": {"cursors": {"before": "b", "after": "A1"}, "next": f"{G}/me/accounts?after=A1"},
                },
            ),
            httpx.Response(
                200,
                json={
                    "data": [{"id": "p2", "name": "Personal Page", "access_token": "pt2"}],
                    "paging": {"cursors": {"before": "b2", "after": "A2"}},
                },
            ),  # no next: last page
        ]
    )
    router.get(f"{G}/{IG}").respond(json={"id": IG, "username": "ana_pro", "name": "Ana"})
    accounts = await ig.list_accounts(token())
    assert accounts_route.call_count == 2
    assert q(accounts_route.calls[1].request)["after"] == "A1"
    assert "instagram_business_account" in q(accounts_route.calls[0].request)["fields"]
    eligible = [a for a in accounts if a.eligible]
    assert [(a.id, a.username, a.page_id) for a in eligible] == [(IG, "ana_pro", "p1")]
    bad = [a for a in accounts if not a.eligible]
    assert bad[0].page_id == "p2" and "professional" in (bad[0].ineligible_reason or "")


@pytest.mark.parametrize("pages", [[], [{"id": "p2", "name": "Personal", "access_token": "x"}]])
async def test_no_professional_account(ig, router: respx.MockRouter, pages) -> None:
    router.get(f"{G}/me/accounts").respond(json={"data": pages, "paging": {"cursors": {}}})
    with pytest.raises(ConnectorError) as exc:
        await ig.list_accounts(token())
    assert exc.value.kind is ErrorKind.NOT_PROFESSIONAL_ACCOUNT


def media(i: int, ts: str, mtype: str = "IMAGE", product: str = "FEED", **extra) -> dict:
    return {
        "id": f"m{i}",
        "caption": f"post {i} #spring",
        "media_type": mtype,
        "media_product_type": product,
        "timestamp": ts,
        "permalink": f"https://www.instagram.com/p/{i}/",
        "like_count": 10 * i,
        "comments_count": i,
        "media_url": f"https://cdn.test/{i}.jpg",
        "owner": {"id": IG},
        **extra,
    }


async def test_contents_pagination_to_last_page(ig, router: respx.MockRouter) -> None:
    route = router.get(f"{G}/{IG}/media").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": [
                        media(1, "2024-06-17T19:39:18+0000", "VIDEO", "REELS"),
                        media(
                            2,
                            "2024-06-16T10:00:00+0000",
                            "CAROUSEL_ALBUM",
                            children={
                                "data": [
                                    {"id": "c1", "media_type": "IMAGE", "media_url": "https://cdn.test/c1.jpg"},
                                    {
                                        "id": "c2",
                                        "media_type": "VIDEO",
                                        "media_url": "https://cdn.test/c2.mp4",
                                        "thumbnail_url": "https://cdn.test/c2_thumb.jpg",
                                    },
                                ]
                            },
                        ),
                    ],
                    "paging": {"cursors": {"after": "CUR2"}, "next": f"{G}/{IG}/media?after=CUR2"},
                },
            ),
            # `cursors.after` present but `next` absent: the last page.
            httpx.Response(
                200,
                json={
                    "data": [media(3, "2024-06-15T10:00:00+0000")],
                    "paging": {"cursors": {"before": "x", "after": "CUR3"}},
                },
            ),
        ]
    )
    items = await ig.fetch_contents(token(), IG)
    assert route.call_count == 2
    fields = q(route.calls[0].request)["fields"]
    assert "impressions" not in fields
    assert "children{id,media_type,media_url,thumbnail_url}" in fields  # expanded in the same call
    assert q(route.calls[1].request)["after"] == "CUR2"
    assert [(c.id, c.type) for c in items] == [
        ("m1", ContentType.REEL),
        ("m2", ContentType.CAROUSEL),
        ("m3", ContentType.POST),
    ]
    assert items[0].published_at == datetime(2024, 6, 17, 19, 39, 18, tzinfo=UTC)
    assert items[0].metrics and items[0].metrics.likes == 10
    assert items[1].children == [
        ContentMedia(id="c1", media_type="IMAGE", media_url="https://cdn.test/c1.jpg"),
        ContentMedia(
            id="c2",
            media_type="VIDEO",
            media_url="https://cdn.test/c2.mp4",
            thumbnail_url="https://cdn.test/c2_thumb.jpg",
        ),
    ]
    assert "children" not in items[1].extras
    assert items[0].children == [] and items[2].children == []
    assert items[2].media_urls == ["https://cdn.test/3.jpg"]


def test_children_as_bare_ids_still_parse() -> None:
    """An answer that did not expand children (`children` without sub-fields) keeps what it has: ids."""
    from loupe.connectors.meta.instagram_data import parse_media

    content = parse_media(media(7, "2024-06-16T10:00:00+0000", "CAROUSEL_ALBUM", children={"data": [{"id": "c7"}]}), IG)
    assert content.children == [ContentMedia(id="c7")]
    assert parse_media(media(8, "2024-06-16T10:00:00+0000", "CAROUSEL_ALBUM", children=None), IG).children == []


async def test_contents_stop_at_since_and_on_falsy_after(ig, router: respx.MockRouter) -> None:
    route = router.get(f"{G}/{IG}/media").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": [media(1, "2024-06-17T00:00:00+0000"), media(2, "2024-06-01T00:00:00+0000")],
                    "paging": {"cursors": {"after": "C"}, "next": f"{G}/x"},
                },
            ),
        ]
    )
    items = await ig.fetch_contents(token(), IG, since=datetime(2024, 6, 10, tzinfo=UTC))
    assert [c.id for c in items] == ["m1"] and route.call_count == 1
    route.mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [media(5, "2024-06-17T00:00:00+0000")],
                "paging": {"cursors": {"after": ""}, "next": f"{G}/x"},
            },
        )
    )
    page = await ig.fetch_content_page(token(), IG)
    assert page.next_cursor is None and not page.has_more


async def test_content_metrics_from_insights(ig, router: respx.MockRouter) -> None:
    router.get(f"{G}/m1").respond(
        json={"id": "m1", "media_product_type": "REELS", "like_count": 40, "comments_count": 4}
    )
    insights = router.get(f"{G}/m1/insights").respond(
        json={
            "data": [
                {"name": "views", "period": "lifetime", "values": [{"value": 5000}]},
                {"name": "reach", "period": "lifetime", "values": [{"value": 2006}]},
                {"name": "saved", "period": "lifetime", "values": [{"value": 12}]},
                {"name": "shares", "period": "lifetime", "values": [{"value": 7}]},
                {"name": "ig_reels_avg_watch_time", "period": "lifetime", "values": [{"value": 4300}]},
            ]
        }
    )
    metrics = (await ig.fetch_content_metrics(token(), IG, ["m1"]))["m1"]
    asked = q(insights.calls[0].request)["metric"].split(",")
    assert "impressions" not in asked and "plays" not in asked and "ig_reels_avg_watch_time" in asked
    assert (metrics.likes, metrics.comments, metrics.views, metrics.reach, metrics.saves, metrics.shares) == (
        40,
        4,
        5000,
        2006,
        12,
        7,
    )
    assert metrics.extras["ig_reels_avg_watch_time"] == 4300


async def test_stories_not_enough_viewers_is_not_a_failure(ig, router: respx.MockRouter) -> None:
    router.get(f"{G}/{IG}/stories").respond(
        json={
            "data": [
                media(7, "2026-01-01T10:00:00+0000", "IMAGE", "STORY"),
                media(8, "2026-01-01T11:00:00+0000", "VIDEO", "STORY"),
            ]
        }
    )
    router.get(f"{G}/m7/insights").mock(
        return_value=graph_error(10, message="(#10) Not enough viewers for the media to show insights", status=400)
    )

    def m8(request: httpx.Request) -> httpx.Response:
        if q(request).get("breakdown") == "story_navigation_action_type":
            return httpx.Response(
                200,
                json={
                    "data": [
                        {
                            "name": "navigation",
                            "values": [{"value": 25}],
                            "total_value": {
                                "value": 25,
                                "breakdowns": [
                                    {
                                        "dimension_keys": ["story_navigation_action_type"],
                                        "results": [
                                            {"dimension_values": ["tap_forward"], "value": 19},
                                            {"dimension_values": ["tap_back"], "value": 4},
                                            {"dimension_values": ["tap_exit"], "value": 2},
                                        ],
                                    }
                                ],
                            },
                        }
                    ]
                },
            )
        return httpx.Response(
            200,
            json={
                "data": [{"name": "reach", "values": [{"value": 300}]}, {"name": "replies", "values": [{"value": 3}]}]
            },
        )

    router.get(f"{G}/m8/insights").mock(side_effect=m8)
    stories = await ig.fetch_stories(token(), IG)
    assert [s.type for s in stories] == [ContentType.STORY, ContentType.STORY]
    first, second = stories
    assert first.metrics is not None and not first.metrics.available
    assert first.metrics.unavailable_reason == "not_enough_viewers"
    assert second.metrics is not None and second.metrics.available and second.metrics.reach == 300
    assert second.metrics.extras["replies"] == 3
    assert second.metrics.extras["navigation"] == {"tap_forward": 19, "tap_back": 4, "tap_exit": 2}


async def test_audience_breakdowns(ig, router: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        params = q(request)
        assert (params["metric"], params["period"], params["metric_type"]) == (
            "follower_demographics",
            "lifetime",
            "total_value",
        )
        rows = {
            "age,gender": (["age", "gender"], [(["18-24", "F"], 30), (["18-24", "M"], 10), (["25-34", "F"], 60)]),
            # Passing `timeframe` may prefix the keys: accept both forms.
            "country": (
                ["timeframe", "country"],
                [
                    (["this_month", "US"], 50),
                    (["this_month", "GB"], 30),
                    (["this_month", "FR"], 10),
                    (["this_month", "DE"], 10),
                ],
            ),
            "city": (["city"], [(["London, England"], 3), (["Paris, Île-de-France"], 1)]),
        }[params["breakdown"]]
        results = [{"dimension_values": dims, "value": v} for dims, v in rows[1]]
        return httpx.Response(
            200,
            json={
                "data": [
                    {
                        "name": "follower_demographics",
                        "period": "lifetime",
                        "total_value": {"breakdowns": [{"dimension_keys": rows[0], "results": results}]},
                    }
                ]
            },
        )

    router.get(f"{G}/{IG}/insights").mock(side_effect=answer)
    audience = await ig.fetch_audience(token(), IG)
    assert audience.available
    assert audience.ages == {"18-24": 0.4, "25-34": 0.6}
    assert audience.genders == {"female": 0.9, "male": 0.1}
    assert audience.countries == {"US": 0.5, "GB": 0.3, "FR": 0.1, "DE": 0.1}
    assert audience.cities == {"London, England": 0.75, "Paris, Île-de-France": 0.25}
    assert audience.summary(2).countries == {"US": 0.5, "GB": 0.3, "others": pytest.approx(0.2)}


async def test_audience_empty_under_100_followers(ig, router: respx.MockRouter) -> None:
    router.get(f"{G}/{IG}/insights").respond(json={"data": []})
    audience = await ig.fetch_audience(token(), IG)
    assert not audience.available and audience.countries == {}


@pytest.mark.parametrize(
    ("code", "subcode", "status", "message", "kind"),
    [
        (190, None, 400, "Error validating access token: Session has expired on Friday", ErrorKind.AUTH_EXPIRED),
        (190, None, 400, "Invalid OAuth access token.", ErrorKind.AUTH_REVOKED),
        (190, 458, 400, "boom", ErrorKind.AUTH_REVOKED),
        (190, 459, 400, "boom", ErrorKind.AUTH_REVOKED),
        (190, 460, 400, "boom", ErrorKind.AUTH_REVOKED),
        (190, 463, 400, "boom", ErrorKind.AUTH_EXPIRED),
        (190, 464, 400, "boom", ErrorKind.AUTH_REVOKED),
        (190, 467, 400, "boom", ErrorKind.AUTH_REVOKED),
        (190, 492, 400, "boom", ErrorKind.AUTH_REVOKED),
        (102, None, 400, "Session key invalid", ErrorKind.AUTH_REVOKED),
        (10, None, 403, "(#10) Application does not have permission", ErrorKind.PERMISSION_MISSING),
        (200, None, 403, "(#200) Permissions error", ErrorKind.PERMISSION_MISSING),
        (299, None, 403, "boom", ErrorKind.PERMISSION_MISSING),
        (3, None, 400, "(#3) Application does not have the capability", ErrorKind.PERMISSION_MISSING),
        (1, None, 500, "An unknown error occurred", ErrorKind.TRANSIENT),
        (2, None, 500, "Service temporarily unavailable", ErrorKind.TRANSIENT),
        (100, None, 400, "(#100) metric[0] must be one of ...", ErrorKind.BAD_REQUEST),
        (100, 33, 400, "Object does not exist", ErrorKind.NOT_FOUND),
        (4, None, 400, "(#4) Application request limit reached", ErrorKind.RATE_LIMITED),
        (17, None, 400, "(#17) User request limit reached", ErrorKind.RATE_LIMITED),
        (32, None, 400, "(#32) Page request limit reached", ErrorKind.RATE_LIMITED),
        (613, None, 400, "(#613) Calls to this api have exceeded the rate limit", ErrorKind.RATE_LIMITED),
        (80001, None, 400, "boom", ErrorKind.RATE_LIMITED),
        (80002, None, 400, "boom", ErrorKind.RATE_LIMITED),
        (341, None, 400, "(#341) Application limit reached", ErrorKind.RATE_LIMITED),
        (368, None, 400, "(#368) Temporarily blocked for policies violations", ErrorKind.RATE_LIMITED),
    ],
)
async def test_graph_error_codes(ig, router: respx.MockRouter, code, subcode, status, message, kind) -> None:
    router.get(f"{G}/{IG}").mock(return_value=graph_error(code, subcode, message, status))
    with pytest.raises(ConnectorError) as exc:
        await ig.fetch_profile(token(), IG)
    assert exc.value.kind is kind
    assert exc.value.code == code and exc.value.platform == "instagram"
    if kind is ErrorKind.RATE_LIMITED:
        assert exc.value.retry_after == (3600 if code == 368 else 300)  # no usage header: our defaults


async def test_rate_limit_retry_after_from_buc_header(ig, router: respx.MockRouter) -> None:
    headers = {
        "X-Business-Use-Case-Usage": json.dumps(
            {
                IG: [
                    {
                        "type": "instagram",
                        "call_count": 100,
                        "total_cputime": 30,
                        "total_time": 40,
                        "estimated_time_to_regain_access": 19,
                    }
                ]
            }
        )
    }
    router.get(f"{G}/{IG}").mock(
        return_value=httpx.Response(
            400, headers=headers, json={"error": {"message": "limit", "code": 80002, "type": "OAuthException"}}
        )
    )
    with pytest.raises(ConnectorError) as exc:
        await ig.fetch_profile(token(), IG)
    assert exc.value.kind is ErrorKind.RATE_LIMITED and exc.value.retry_after == 19 * 60
    assert ig.last_rate_limit is not None and ig.last_rate_limit.usage_percent == 100


async def test_usage_headers_kept_on_success(ig, router: respx.MockRouter) -> None:
    router.get(f"{G}/{IG}").respond(
        json={"id": IG}, headers={"X-App-Usage": json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 5})}
    )
    await ig.fetch_profile(token(), IG)
    assert ig.last_rate_limit.usage_percent == 28 and not ig.last_rate_limit.exhausted


async def test_token_never_leaks_into_errors(ig, router: respx.MockRouter) -> None:
    router.get(f"{G}/{IG}").mock(return_value=graph_error(190, 467, "Malformed access token EAAsecret999"))
    with pytest.raises(ConnectorError) as exc:
        await ig.fetch_profile(token("EAAsecret999"), IG)
    assert "EAAsecret999" not in str(exc.value) and "EAAsecret999" not in repr(exc.value)
    assert "***" in exc.value.message


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (httpx.Response(502, text="<html>Bad gateway</html>"), ErrorKind.TRANSIENT),
        (httpx.Response(429, text=""), ErrorKind.RATE_LIMITED),
        (httpx.ConnectError("refused"), ErrorKind.TRANSIENT),
        (httpx.ReadTimeout("slow"), ErrorKind.TRANSIENT),
    ],
)
async def test_transport_and_bare_status_failures(ig, router: respx.MockRouter, response, kind) -> None:
    route = router.get(f"{G}/{IG}")
    if isinstance(response, Exception):
        route.mock(side_effect=response)
    else:
        route.mock(return_value=response)
    with pytest.raises(ConnectorError) as exc:
        await ig.fetch_profile(token("tok-in-url"), IG)
    assert exc.value.kind is kind
    assert "tok-in-url" not in str(exc.value)


async def test_revoke_deletes_permissions(ig, router: respx.MockRouter) -> None:
    route = router.delete(f"{G}/me/permissions").respond(json={"success": True})
    await ig.revoke(token("EAArev"))
    assert route.calls[0].request.headers["authorization"] == "Bearer EAArev"


async def test_retry_after_comes_from_the_limited_answer_not_an_older_one(ig, router: respx.MockRouter) -> None:
    # An earlier answer said "19 minutes" for one business object; a later code-4 answer without
    # headers must not inherit that estimate.
    buc = {IG: [{"type": "instagram", "call_count": 90, "estimated_time_to_regain_access": 19}]}
    router.get(f"{G}/{IG}").mock(
        side_effect=[
            httpx.Response(200, json={"id": IG}, headers={"X-Business-Use-Case-Usage": json.dumps(buc)}),
            graph_error(4, None, "(#4) Application request limit reached", 400),
        ]
    )
    await ig.fetch_profile(token(), IG)
    with pytest.raises(ConnectorError) as exc:
        await ig.fetch_profile(token(), IG)
    assert exc.value.kind is ErrorKind.RATE_LIMITED and exc.value.retry_after == 300
