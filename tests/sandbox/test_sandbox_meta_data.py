"""Meta Graph data fidelity: errors, faults, stories, insights, paging, usage headers, Page discovery."""

from __future__ import annotations

import json

import httpx

from loupe.sandbox.state import Sandbox

from .conftest import first
from .test_sandbox_meta_oauth import fb_token

GRAPH = "/graph.facebook.com/v23.0"


async def mint(client: httpx.AsyncClient, platform: str, account: str, **extra: object) -> str:
    r = await client.post("/_sandbox/tokens", json={"platform": platform, "account": account, **extra})
    assert r.status_code == 201, r.text
    return r.json()["access_token"]  # type: ignore[no-any-return]


def biggest(sandbox: Sandbox) -> object:
    return max((a for a in sandbox.world.accounts["instagram"].values() if a.page_id), key=lambda a: a.history)


async def test_me_accounts_and_instagram_business_account(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await fb_token(client, ig.id)
    r = await client.get(
        f"{GRAPH}/me/accounts",
        params={"fields": "id,name,access_token,instagram_business_account", "limit": 100, "access_token": token},
    )
    rows = r.json()["data"]
    assert [row["id"] for row in rows] == [ig.page_id]
    assert rows[0]["instagram_business_account"] == {"id": ig.id} and rows[0]["access_token"]
    page_token = rows[0]["access_token"]
    page = await client.get(
        f"{GRAPH}/{ig.page_id}", params={"fields": "id,name,fan_count,followers_count", "access_token": page_token}
    )
    assert page.status_code == 200 and page.json()["followers_count"] > 0


async def test_personal_account_page_has_no_instagram_business_account(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    personal = next(
        a
        for a in sandbox.world.accounts["instagram"].values()
        if a.account_type == "PERSONAL" and sandbox.world.creator_of(a).accounts.get("facebook")
    )
    token = await fb_token(client, personal.id)
    rows = (
        await client.get(
            f"{GRAPH}/me/accounts", params={"fields": "id,name,instagram_business_account", "access_token": token}
        )
    ).json()["data"]
    assert rows and all("instagram_business_account" not in row for row in rows)


async def test_creator_without_page_sees_no_pages(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    lonely = next(
        a
        for a in sandbox.world.accounts["instagram"].values()
        if not sandbox.world.creator_of(a).accounts.get("facebook")
    )
    token = await fb_token(client, lonely.id)
    r = await client.get(f"{GRAPH}/me/accounts", params={"access_token": token})
    assert r.status_code == 200 and r.json() == {"data": []}


async def test_world_faults_hide_links(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await fb_token(client, ig.id)
    await client.post("/_sandbox/faults", json={"platform": "instagram", "account": ig.id, "fault": "personal_account"})
    rows = (
        await client.get(
            f"{GRAPH}/me/accounts", params={"fields": "id,instagram_business_account", "access_token": token}
        )
    ).json()["data"]
    assert rows == [{"id": ig.page_id}]
    await client.post("/_sandbox/faults", json={"platform": "instagram", "account": ig.id, "fault": "no_linked_page"})
    assert (await client.get(f"{GRAPH}/me/accounts", params={"access_token": token})).json() == {"data": []}


async def test_profile_and_paging_chain(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    profile = (
        await client.get(
            f"{GRAPH}/{ig.id}",
            params={  # type: ignore[attr-defined]
                "fields": "id,username,followers_count,follows_count,media_count",
                "access_token": token,
            },
        )
    ).json()
    assert profile["media_count"] > 100
    url: str | None = f"http://sandbox{GRAPH}/{ig.id}/media"  # type: ignore[attr-defined]
    params: dict[str, object] | None = {
        "fields": "id,caption,timestamp,media_type,media_product_type,like_count",
        "limit": 25,
        "access_token": token,
    }
    seen: list[str] = []
    pages = 0
    while url:
        body = (await client.get(url, params=params)).json()
        pages += 1
        seen += [m["id"] for m in body["data"]]
        assert body["paging"]["cursors"]["after"]
        url, params = body["paging"].get("next"), None
        if url:
            assert len(body["data"]) == 25
    assert pages >= 5 and len(seen) == len(set(seen)) == profile["media_count"]
    assert "next" not in body["paging"]
    first_page = (
        await client.get(
            f"{GRAPH}/{ig.id}/media",
            params={  # type: ignore[attr-defined]
                "fields": "timestamp",
                "limit": 25,
                "access_token": token,
            },
        )
    ).json()["data"]
    assert [m["timestamp"] for m in first_page] == sorted((m["timestamp"] for m in first_page), reverse=True)
    assert first_page[0]["timestamp"].endswith("+0000")


async def test_unknown_field_and_foreign_object(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    other = next(a for a in sandbox.world.accounts["instagram"].values() if a.page_id and a.id != ig.id)
    token = await mint(client, "instagram", ig.id)
    r = await client.get(f"{GRAPH}/{ig.id}", params={"fields": "id,nonsense", "access_token": token})
    assert r.json()["error"]["code"] == 100
    r = await client.get(f"{GRAPH}/{other.id}", params={"access_token": token})
    assert (r.json()["error"]["code"], r.json()["error"]["error_subcode"]) == (100, 33)
    r = await client.get(f"{GRAPH}/me")
    assert r.status_code == 400 and r.json()["error"]["code"] == 2500


async def test_expired_and_password_changed(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await fb_token(client, ig.id)
    ok = await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})
    assert ok.status_code == 200
    await client.post("/_sandbox/faults", json={"platform": "instagram", "account": ig.id, "fault": "password_changed"})
    err = (await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})).json()["error"]
    assert (err["code"], err["error_subcode"]) == (190, 460)
    fresh = await fb_token(client, ig.id)  # re-authorising after the change works again
    assert (await client.get(f"{GRAPH}/{ig.id}", params={"access_token": fresh})).status_code == 200
    await client.delete("/_sandbox/faults")
    sandbox.clock.advance(5_183_944 + 10)
    err = (await client.get(f"{GRAPH}/{ig.id}", params={"access_token": fresh})).json()["error"]
    assert (err["code"], err["error_subcode"]) == (190, 463) and "expired" in err["message"]


async def test_token_expired_and_revoked_faults(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id)
    await client.post("/_sandbox/faults", json={"platform": "instagram", "account": ig.id, "fault": "token_expired"})
    assert (await client.get(f"{GRAPH}/me", params={"access_token": token})).json()["error"]["error_subcode"] == 463
    await client.delete("/_sandbox/faults")
    token = await mint(client, "instagram", ig.id)
    await client.post("/_sandbox/faults", json={"platform": "instagram", "fault": "token_revoked"})
    assert (await client.get(f"{GRAPH}/me", params={"access_token": token})).json()["error"]["error_subcode"] == 458


async def test_stories_live_24h_and_code_10(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id)
    story = (
        await client.post(
            "/_sandbox/publish",
            json={"platform": "instagram", "account": ig.id, "kind": "story", "text": "Story #HappySpring"},
        )
    ).json()
    live = (
        await client.get(
            f"{GRAPH}/{ig.id}/stories",
            params={"fields": "id,media_product_type,timestamp,media_url,caption", "access_token": token},
        )
    ).json()["data"]
    assert story["id"] in [s["id"] for s in live] and all(s["media_product_type"] == "STORY" for s in live)
    insights = f"{GRAPH}/{story['id']}/insights"
    r = await client.get(insights, params={"metric": "reach,views", "access_token": token})
    assert r.json()["error"]["code"] == 10 and "Not enough viewers" in r.json()["error"]["message"]
    sandbox.clock.advance(6 * 3600)
    r = await client.get(
        insights,
        params={"metric": "reach,views,navigation", "access_token": token, "breakdown": "story_navigation_action_type"},
    )
    data = {d["name"]: d for d in r.json()["data"]}
    assert data["reach"]["values"][0]["value"] >= 5 and data["reach"]["period"] == "lifetime"
    keys = data["navigation"]["total_value"]["breakdowns"][0]["results"]
    assert {k["dimension_values"][0] for k in keys} == {"tap_forward", "tap_back", "tap_exit", "swipe_forward"}
    media_url = next(s["media_url"] for s in live if s["id"] == story["id"])
    assert (await client.get(media_url)).status_code == 200
    sandbox.clock.advance(18 * 3600 + 1)
    live = (await client.get(f"{GRAPH}/{ig.id}/stories", params={"access_token": token})).json()["data"]
    assert story["id"] not in [s["id"] for s in live]
    assert (await client.get(media_url)).status_code == 403  # the story's CDN URL died with it


async def test_media_insights_metrics(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    media = (
        await client.get(
            f"{GRAPH}/{ig.id}/media",
            params={  # type: ignore[attr-defined]
                "fields": "id,media_product_type",
                "limit": 50,
                "access_token": token,
            },
        )
    ).json()["data"]
    feed = next(m for m in media if m["media_product_type"] == "FEED")
    r = await client.get(f"{GRAPH}/{feed['id']}/insights", params={"metric": "impressions", "access_token": token})
    assert r.status_code == 400 and r.json()["error"]["code"] == 100
    r = await client.get(
        f"{GRAPH}/{feed['id']}/insights", params={"metric": "views,reach,likes,saved,shares", "access_token": token}
    )
    values = {d["name"]: d["values"][0]["value"] for d in r.json()["data"]}
    assert values["views"] >= values["reach"] > 0
    r = await client.get(
        f"{GRAPH}/{feed['id']}/insights", params={"metric": "ig_reels_avg_watch_time", "access_token": token}
    )
    assert r.json()["error"]["code"] == 100


async def test_metrics_grow_over_time(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id)
    post = (
        await client.post(
            "/_sandbox/publish",
            json={"platform": "instagram", "account": ig.id, "kind": "post", "text": "Crème brûlée #HappySpring"},
        )
    ).json()

    async def likes() -> int:
        return (
            await client.get(f"{GRAPH}/{post['id']}", params={"fields": "like_count,caption", "access_token": token})
        ).json()["like_count"]

    before = await likes()
    sandbox.clock.advance(2 * 86400)
    assert await likes() > before


async def test_demographics(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id)
    base = {
        "metric": "follower_demographics",
        "period": "lifetime",
        "metric_type": "total_value",
        "timeframe": "this_month",
        "access_token": token,
    }
    for breakdown, check in {
        "city": lambda v: ", " in v[0],
        "country": lambda v: len(v[0]) == 2,
        "age,gender": lambda v: (
            v[1] in {"F", "M", "U"} and v[0] in {"13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+"}
        ),
    }.items():
        r = await client.get(f"{GRAPH}/{ig.id}/insights", params={**base, "breakdown": breakdown})
        bd = r.json()["data"][0]["total_value"]["breakdowns"][0]
        assert bd["dimension_keys"] == breakdown.split(",")
        assert 0 < len(bd["results"]) <= 45 and all(check(x["dimension_values"]) for x in bd["results"])
    tiny = first(sandbox, "instagram", followers=80)
    tiny_token = await mint(client, "instagram", tiny.id)
    r = await client.get(
        f"{GRAPH}/{tiny.id}/insights", params={**base, "breakdown": "country", "access_token": tiny_token}
    )
    assert r.json() == {"data": []}


async def test_usage_headers_and_limits(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id)
    r = await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})
    assert json.loads(r.headers["x-app-usage"]).keys() == {"call_count", "total_time", "total_cputime"}
    buc = json.loads(r.headers["x-business-use-case-usage"])[ig.id][0]
    assert buc["type"] == "instagram" and "estimated_time_to_regain_access" in buc
    for limit, code in (("meta_buc_per_hour", 80002), ("meta_user_per_hour", 17), ("meta_app_per_hour", 4)):
        await client.post(
            "/_sandbox/limits",
            json={
                "meta_app_per_hour": 20000,
                "meta_user_per_hour": 4800,
                "meta_buc_per_hour": 4800,
                limit: 4,
                "reset_meters": True,
            },
        )
        statuses = []
        for _ in range(5):
            r = await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})
            statuses.append(r.json().get("error", {}).get("code"))
        assert statuses == [None, None, None, None, code], (limit, statuses)
        if code == 80002:
            assert json.loads(r.headers["x-business-use-case-usage"])[ig.id][0]["call_count"] == 100
        if code == 4:
            assert json.loads(r.headers["x-app-usage"])["call_count"] == 100


async def test_call_faults(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    ig = first(sandbox, "instagram", account_type="BUSINESS")
    token = await mint(client, "instagram", ig.id)
    await client.post("/_sandbox/faults", json={"platform": "instagram", "account": ig.id, "fault": "server_error"})
    r = await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})
    assert r.status_code == 500 and r.json()["error"]["code"] == 2 and r.json()["error"]["is_transient"]
    await client.delete("/_sandbox/faults")
    await client.post("/_sandbox/faults", json={"platform": "instagram", "account": ig.id, "fault": "rate_limited"})
    r = await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})
    assert r.json()["error"]["code"] == 80002 and "x-business-use-case-usage" in r.headers
    await client.delete("/_sandbox/faults")
    await client.post("/_sandbox/faults", json={"platform": "instagram", "fault": "slow", "latency_ms": 150})
    import time

    started = time.perf_counter()
    assert (await client.get(f"{GRAPH}/{ig.id}", params={"access_token": token})).status_code == 200
    assert time.perf_counter() - started >= 0.15


async def test_page_posts_and_insights(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    page = max(sandbox.world.accounts["facebook"].values(), key=lambda p: p.history)
    token = await mint(client, "facebook", page.id)
    r = await client.get(
        f"{GRAPH}/{page.id}/posts",
        params={
            "fields": "id,message,created_time,permalink_url,shares,reactions.summary(total_count).limit(0),"
            "comments.summary(true).limit(0)",
            "limit": 100,
            "access_token": token,
        },
    )
    body = r.json()
    post = body["data"][0]
    assert post["id"].startswith(page.id + "_") and "summary" in post["reactions"]
    assert post["reactions"]["data"] == [] and "total_count" in post["comments"]["summary"]
    assert "next" in body["paging"]
    r = await client.get(
        f"{GRAPH}/{page.id}/insights",
        params={
            "metric": "page_media_view,page_follows",
            "period": "day",
            "since": int(sandbox.now() - 7 * 86400),
            "until": int(sandbox.now()),
            "access_token": token,
        },
    )
    data = r.json()["data"]
    assert {d["name"] for d in data} == {"page_media_view", "page_follows"}
    assert data[0]["values"][0]["end_time"].endswith("T08:00:00+0000")
    r = await client.get(f"{GRAPH}/{page.id}/insights", params={"metric": "page_impressions", "access_token": token})
    assert r.json()["error"]["code"] == 100


async def test_appsecret_proof_and_since(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    import hashlib
    import hmac

    ig = biggest(sandbox)
    token = await mint(client, "instagram", ig.id)  # type: ignore[attr-defined]
    proof = hmac.new(b"sandbox-secret-instagram", token.encode(), hashlib.sha256).hexdigest()
    h = {"Authorization": f"Bearer {token}"}
    ok = await client.get(f"{GRAPH}/{ig.id}", params={"appsecret_proof": proof}, headers=h)  # type: ignore[attr-defined]
    assert ok.status_code == 200
    bad = await client.get(f"{GRAPH}/{ig.id}", params={"appsecret_proof": "00"}, headers=h)  # type: ignore[attr-defined]
    assert bad.json()["error"]["code"] == 100
    since = int(sandbox.now() - 10 * 86400)
    recent = (
        await client.get(
            f"{GRAPH}/{ig.id}/media",
            params={  # type: ignore[attr-defined]
                "fields": "timestamp",
                "since": since,
                "limit": 100,
            },
            headers=h,
        )
    ).json()["data"]
    assert 0 < len(recent) < 100
