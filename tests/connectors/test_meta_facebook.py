"""Facebook Pages, respx-mocked."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from loupe.connectors import ContentType, ErrorKind, PlatformsConfig, get_connector
from loupe.connectors.errors import ConnectorError

from .conftest import token

G = "https://graph.facebook.com/v23.0"


@pytest.fixture
def fb(config: PlatformsConfig, http: httpx.AsyncClient):
    return get_connector("facebook", config, http)


def q(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def post(i: int, day: int, shares: int | None = 3) -> dict:
    item = {
        "id": f"p_{i}",
        "message": f"hello {i}",
        "created_time": f"2024-01-{day:02d}T10:00:00+0000",
        "permalink_url": f"https://www.facebook.com/p/{i}",
        "reactions": {"data": [], "summary": {"total_count": 12 + i}},
        "comments": {"data": [], "summary": {"total_count": 2}},
    }
    if shares is not None:
        item["shares"] = {"count": shares}
    return item


async def test_pages_come_with_their_page_tokens(fb, router: respx.MockRouter) -> None:
    router.get(f"{G}/me/accounts").respond(
        json={
            "data": [
                {
                    "id": "111",
                    "name": "Bakery",
                    "access_token": "PAGE-TOKEN-1",
                    "category": "Food",
                    "tasks": ["ANALYZE"],
                }
            ],
            "paging": {"cursors": {"before": "a"}},
        }
    )
    [page] = await fb.list_accounts(token("USER", scopes=["pages_show_list"]))
    assert (page.id, page.name, page.extras["category"]) == ("111", "Bakery", "Food")
    assert page.token is not None and page.token.secret() == "PAGE-TOKEN-1"
    assert page.token.expires_at is None  # Page tokens do not expire
    assert "PAGE-TOKEN-1" not in repr(page)


async def test_no_pages(fb, router: respx.MockRouter) -> None:
    router.get(f"{G}/me/accounts").respond(json={"data": []})
    with pytest.raises(ConnectorError) as exc:
        await fb.list_accounts(token())
    assert exc.value.kind is ErrorKind.NOT_PROFESSIONAL_ACCOUNT


async def test_profile(fb, router: respx.MockRouter) -> None:
    router.get(f"{G}/111").respond(
        json={
            "id": "111",
            "name": "Bakery",
            "username": "bakery",
            "fan_count": 90,
            "followers_count": 100,
            "link": "https://www.facebook.com/bakery",
            "picture": {"data": {"url": "https://cdn.test/p.jpg"}},
        }
    )
    profile = await fb.fetch_profile(token("PAGE"), "111")
    assert (profile.followers, profile.avatar_url, profile.extras["fan_count"]) == (100, "https://cdn.test/p.jpg", 90)


async def test_posts_paged_with_counts(fb, router: respx.MockRouter) -> None:
    route = router.get(f"{G}/111/posts").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "data": [post(1, 20), post(2, 19, shares=None)],
                    "paging": {"cursors": {"after": "N1"}, "next": f"{G}/111/posts?after=N1"},
                },
            ),
            httpx.Response(200, json={"data": [post(3, 18)], "paging": {"cursors": {"before": "b"}}}),
        ]
    )
    items = await fb.fetch_contents(token("PAGE"), "111", since=datetime(2024, 1, 1, tzinfo=UTC))
    assert route.call_count == 2 and q(route.calls[1].request)["after"] == "N1"
    assert q(route.calls[0].request)["since"] == str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()))
    assert "reactions.summary(total_count).limit(0)" in q(route.calls[0].request)["fields"]
    assert [c.id for c in items] == ["p_1", "p_2", "p_3"]
    assert all(c.type is ContentType.POST for c in items)
    first = items[0].metrics
    assert first is not None and (first.likes, first.comments, first.shares) == (13, 2, 3)
    assert items[1].metrics.shares == 0  # no `shares` key: nobody shared
    assert items[0].published_at == datetime(2024, 1, 20, 10, tzinfo=UTC)


async def test_post_metrics_and_page_insights(fb, router: respx.MockRouter) -> None:
    router.get(f"{G}/p_1").respond(json=post(1, 20, shares=9))
    metrics = await fb.fetch_content_metrics(token("PAGE"), "111", ["p_1"])
    assert metrics["p_1"].shares == 9 and metrics["p_1"].likes == 13
    ins = router.get(f"{G}/111/insights").respond(
        json={
            "data": [
                {
                    "name": "page_post_engagements",
                    "period": "day",
                    "values": [{"value": 5, "end_time": "2024-01-02T08:00:00+0000"}],
                }
            ]
        }
    )
    result = await fb.fetch_page_insights(
        token("PAGE"),
        "111",
        ["page_post_engagements"],
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 3, tzinfo=UTC),
    )
    assert result == {"page_post_engagements": [(datetime(2024, 1, 2, 8, tzinfo=UTC), 5)]}
    assert q(ins.calls[0].request)["period"] == "day"


async def test_wrong_client_secret_is_not_retried(fb, router: respx.MockRouter) -> None:
    router.get(f"{G}/oauth/access_token").respond(
        400, json={"error": {"message": "Error validating client secret.", "type": "OAuthException", "code": 1}}
    )
    with pytest.raises(ConnectorError) as exc:
        await fb.exchange_code("c", "https://app.test/cb")
    assert exc.value.kind is ErrorKind.BAD_REQUEST


async def test_used_code(fb, router: respx.MockRouter) -> None:
    router.get(f"{G}/oauth/access_token").respond(
        400,
        json={
            "error": {
                "message": "This authorization code has been used.",
                "type": "OAuthException",
                "code": 100,
                "error_subcode": 36009,
            }
        },
    )
    with pytest.raises(ConnectorError) as exc:
        await fb.exchange_code("c", "https://app.test/cb")
    assert exc.value.kind is ErrorKind.BAD_REQUEST and exc.value.code == 100
