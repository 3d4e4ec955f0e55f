"""YouTube (Google OAuth, Data API v3, Analytics v2), respx-mocked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from loupe.connectors import ContentType, ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError
from loupe.connectors.models import utcnow

from .conftest import SECRET, token

DATA = "https://www.googleapis.com/youtube/v3"
REPORTS = "https://youtubeanalytics.googleapis.com/v2/reports"
TOKEN = "https://oauth2.googleapis.com/token"
CH = "UCabc"


@pytest.fixture
def yt(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("youtube", config, http)


def q(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


CHANNEL = {
    "id": CH,
    "snippet": {
        "title": "Chan",
        "customUrl": "@chan",
        "publishedAt": "2020-01-01T00:00:00Z",
        "thumbnails": {"default": {"url": "https://yt.test/a.jpg"}},
        "country": "FR",
    },
    "contentDetails": {"relatedPlaylists": {"uploads": "UUabc"}},
    "statistics": {
        "viewCount": "123456",
        "subscriberCount": "7890",
        "hiddenSubscriberCount": False,
        "videoCount": "42",
    },
}


def test_authorization_url(yt) -> None:
    auth = yt.authorization_url("https://app.test/cb", extra={"login_hint": "me@test"})
    params = q(httpx.Request("GET", auth.url))
    assert auth.url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert (params["access_type"], params["prompt"], params["include_granted_scopes"]) == ("offline", "consent", "true")
    assert params["scope"] == (
        "https://www.googleapis.com/auth/youtube.readonly https://www.googleapis.com/auth/yt-analytics.readonly"
    )
    assert params["code_challenge_method"] == "S256" and params["login_hint"] == "me@test"


async def test_exchange_refresh_keeps_refresh_token_and_revoke(yt, router: respx.MockRouter) -> None:
    route = router.post(TOKEN).mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "access_token": "ya29.a",
                    "expires_in": 3599,
                    "refresh_token": "1//r",
                    "scope": "https://www.googleapis.com/auth/youtube.readonly",
                    "token_type": "Bearer",
                },
            ),
            httpx.Response(
                200,
                json={
                    "access_token": "ya29.b",
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": "https://www.googleapis.com/auth/youtube.readonly",
                },
            ),
        ]
    )
    tok = await yt.exchange_code("4/code", "https://app.test/cb", code_verifier="ver" * 15)
    assert form(route.calls[0].request)["code_verifier"] == "ver" * 15
    assert form(route.calls[0].request)["client_secret"] == SECRET
    refreshed = await yt.refresh(tok)
    assert form(route.calls[1].request) == {
        "client_id": "id-youtube",
        "client_secret": SECRET,
        "grant_type": "refresh_token",
        "refresh_token": "1//r",
    }
    assert (refreshed.secret(), refreshed.refresh_secret()) == ("ya29.b", "1//r")
    revoke = router.post("https://oauth2.googleapis.com/revoke").respond(200)
    await yt.revoke(refreshed)
    sent = revoke.calls[0].request
    assert form(sent) == {"token": "1//r"}  # revoking the refresh token ends the grant
    assert not sent.url.query  # in the form body, never in a URL that proxies and httpx logs record


async def test_invalid_grant_on_refresh_is_revoked(yt, router: respx.MockRouter) -> None:
    router.post(TOKEN).respond(
        400, json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    )
    with pytest.raises(ConnectorError) as exc:
        await yt.refresh(token(refresh="1//dead"))
    assert exc.value.kind is ErrorKind.AUTH_REVOKED


async def test_profile_counts_are_strings(yt, router: respx.MockRouter) -> None:
    router.get(f"{DATA}/channels").respond(json={"items": [CHANNEL]})
    playlists = router.get(f"{DATA}/playlists").respond(json={"pageInfo": {"totalResults": 6}, "items": []})
    reports = router.get(REPORTS).respond(
        json={"columnHeaders": [{"name": "estimatedMinutesWatched"}], "rows": [[300.5]]}
    )
    profile = await yt.fetch_profile(token(), CH)
    assert (profile.followers, profile.content_count) == (7890, 42)
    assert profile.extras["videos_count"] == 42 and profile.extras["playlists_count"] == 6
    assert profile.extras["view_count"] == 123456
    assert profile.extras["total_watch_minutes"] == 300.5
    assert q(playlists.calls[0].request)["mine"] == "true"
    params = q(reports.calls[0].request)
    assert (params["ids"], params["startDate"]) == ("channel==MINE", "2020-01-01")
    assert "dimensions" not in params  # lifetime totals in one row
    assert "estimatedMinutesWatched" in params["metrics"]


async def test_no_channel(yt, router: respx.MockRouter) -> None:
    router.get(f"{DATA}/channels").respond(json={"items": []})
    with pytest.raises(ConnectorError) as exc:
        await yt.list_accounts(token())
    assert exc.value.kind is ErrorKind.NOT_PROFESSIONAL_ACCOUNT


def video(i: int, published: str, duration: str = "PT4M13S", title: str = "v") -> dict:
    return {
        "id": f"v{i}",
        "snippet": {
            "title": title,
            "description": "d",
            "publishedAt": published,
            "channelId": CH,
            "liveBroadcastContent": "none",
        },
        "contentDetails": {"duration": duration},
        "statistics": {"viewCount": "1000", "likeCount": "50", "commentCount": "7", "favoriteCount": "0"},
    }


async def test_uploads_playlist_then_videos(yt, router: respx.MockRouter) -> None:
    router.get(f"{DATA}/channels").respond(json={"items": [CHANNEL]})
    items_route = router.get(f"{DATA}/playlistItems").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "items": [
                        {"contentDetails": {"videoId": "v1", "videoPublishedAt": "2024-05-02T00:00:00Z"}},
                        {"contentDetails": {"videoId": "v2", "videoPublishedAt": "2024-05-01T00:00:00Z"}},
                    ],
                    "nextPageToken": "PT2",
                },
            ),
            httpx.Response(
                200, json={"items": [{"contentDetails": {"videoId": "v3", "videoPublishedAt": "2024-04-01T00:00:00Z"}}]}
            ),
        ]
    )
    videos_route = router.get(f"{DATA}/videos").mock(
        side_effect=[
            httpx.Response(
                200, json={"items": [video(1, "2024-05-02T00:00:00Z"), video(2, "2024-05-01T00:00:00Z", "PT45S")]}
            ),
            httpx.Response(200, json={"items": [video(3, "2024-04-01T00:00:00Z", title="fun #Shorts")]}),
        ]
    )
    items = await yt.fetch_contents(token(), CH)
    assert q(items_route.calls[0].request)["playlistId"] == "UUabc"
    assert q(items_route.calls[1].request)["pageToken"] == "PT2"
    assert q(videos_route.calls[0].request)["id"] == "v1,v2"
    assert [(c.id, c.type) for c in items] == [
        ("v1", ContentType.VIDEO),
        ("v2", ContentType.SHORT),
        ("v3", ContentType.SHORT),
    ]
    first = items[0]
    assert first.duration_seconds == 253
    assert (first.metrics.views, first.metrics.likes, first.metrics.comments) == (1000, 50, 7)
    assert first.published_at == datetime(2024, 5, 2, tzinfo=UTC)


async def test_since_stops_before_next_page(yt, router: respx.MockRouter) -> None:
    router.get(f"{DATA}/channels").respond(json={"items": [CHANNEL]})
    items_route = router.get(f"{DATA}/playlistItems").respond(
        json={
            "items": [
                {"contentDetails": {"videoId": "v1", "videoPublishedAt": "2024-05-02T00:00:00Z"}},
                {"contentDetails": {"videoId": "v2", "videoPublishedAt": "2023-01-01T00:00:00Z"}},
            ],
            "nextPageToken": "PT2",
        }
    )
    router.get(f"{DATA}/videos").respond(json={"items": [video(1, "2024-05-02T00:00:00Z")]})
    items = await yt.fetch_contents(token(), CH, since=datetime(2024, 1, 1, tzinfo=UTC))
    assert [c.id for c in items] == ["v1"] and items_route.call_count == 1


async def test_video_stats_at_most_50_ids_per_call(yt, router: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        ids = q(request)["id"].split(",")
        return httpx.Response(200, json={"items": [video(int(i[1:]), "2024-01-01T00:00:00Z") for i in ids]})

    route = router.get(f"{DATA}/videos").mock(side_effect=answer)
    metrics = await yt.fetch_content_metrics(token(), CH, [f"v{i}" for i in range(120)])
    assert [len(q(c.request)["id"].split(",")) for c in route.calls] == [50, 50, 20]
    assert len(metrics) == 120 and metrics["v119"].views == 1000


async def test_audience_reports(yt, router: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        params = q(request)
        dims = params["dimensions"]
        if dims == "ageGroup,gender":
            return httpx.Response(
                200,
                json={
                    "columnHeaders": [{"name": "ageGroup"}, {"name": "gender"}, {"name": "viewerPercentage"}],
                    "rows": [["age18-24", "female", 30.0], ["age18-24", "male", 20.0], ["age65-", "female", 50.0]],
                },
            )
        assert params["sort"] == "-views"
        if dims == "city":
            assert int(params["maxResults"]) <= 250
        key = {"country": ["US", "FR"], "city": ["Paris", "Lyon"]}[dims]
        return httpx.Response(
            200, json={"columnHeaders": [{"name": dims}, {"name": "views"}], "rows": [[key[0], 75], [key[1], 25]]}
        )

    router.get(REPORTS).mock(side_effect=answer)
    audience = await yt.fetch_audience(token(), CH)
    assert audience.ages == {"18-24": 0.5, "65+": 0.5}
    assert audience.genders == {"female": 0.8, "male": 0.2}
    assert audience.countries == {"US": 0.75, "FR": 0.25} and audience.cities == {"Paris": 0.75, "Lyon": 0.25}


def google_error(status: int, reason: str, domain: str = "youtube.quota") -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"code": status, "message": f"{reason}!", "errors": [{"domain": domain, "reason": reason}]}},
    )


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (google_error(403, "quotaExceeded"), ErrorKind.RATE_LIMITED),
        (google_error(403, "rateLimitExceeded", "usageLimits"), ErrorKind.TRANSIENT),
        (google_error(403, "userRateLimitExceeded", "usageLimits"), ErrorKind.TRANSIENT),
        (google_error(401, "authError", "global"), ErrorKind.AUTH_EXPIRED),
        (google_error(403, "insufficientPermissions", "global"), ErrorKind.PERMISSION_MISSING),
        (google_error(404, "videoNotFound", "youtube.video"), ErrorKind.NOT_FOUND),
        (google_error(400, "invalidParameter", "youtube.parameter"), ErrorKind.BAD_REQUEST),
        (google_error(500, "backendError", "global"), ErrorKind.TRANSIENT),
    ],
)
async def test_google_errors(yt, router: respx.MockRouter, response, kind) -> None:
    router.get(f"{DATA}/videos").mock(return_value=response)
    with pytest.raises(ConnectorError) as exc:
        await yt.fetch_content_metrics(token(), CH, ["v1"])
    assert exc.value.kind is kind
    if kind is ErrorKind.RATE_LIMITED:
        # Daily quota: back at midnight Pacific, never more than a day away.
        assert 0 < exc.value.retry_after <= timedelta(days=1).total_seconds() + 3600


async def test_analytics_scope_missing_keeps_profile(yt, router: respx.MockRouter) -> None:
    router.get(f"{DATA}/channels").respond(json={"items": [CHANNEL]})
    router.get(f"{DATA}/playlists").respond(json={"pageInfo": {"totalResults": 0}})
    router.get(REPORTS).mock(return_value=google_error(403, "insufficientPermissions", "global"))
    profile = await yt.fetch_profile(token(expires_at=utcnow() + timedelta(hours=1)), CH)
    assert profile.extras["total_watch_minutes"] is None and profile.followers == 7890
