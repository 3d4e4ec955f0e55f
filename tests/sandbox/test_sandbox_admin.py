"""Admin surface under /_sandbox/ and app-level guarantees (determinism, no OpenAPI, clock)."""

from __future__ import annotations

import time

import httpx

from loupe.sandbox import Clock, create_app
from loupe.sandbox.state import Sandbox

from .conftest import T0


async def test_accounts_grouped_by_platform(client: httpx.AsyncClient) -> None:
    body = (await client.get("/_sandbox/accounts")).json()
    assert list(body) == ["instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"]
    for accounts in body.values():
        assert accounts and all({"id", "username", "creator"} <= set(a) for a in accounts)
    ig = body["instagram"]
    assert {a["account_type"] for a in ig} == {"BUSINESS", "MEDIA_CREATOR", "PERSONAL"}
    assert any(not a["linked_page"] and a["professional"] for a in ig)
    creators = [a["creator"] for a in ig]
    assert any(creators.count(c) > 1 for c in creators)  # some creators have several IG accounts
    assert any(not p["instagram_business_account"] for p in body["facebook"])
    assert any(not y["has_channel"] for y in body["youtube"])


def test_world_is_deterministic_and_fast() -> None:
    started = time.perf_counter()
    a = create_app(seed=7, clock=Clock(frozen_at=T0)).state.sandbox.world
    assert time.perf_counter() - started < 0.5
    b = create_app(seed=7, clock=Clock(frozen_at=T0)).state.sandbox.world
    c = create_app(seed=8, clock=Clock(frozen_at=T0)).state.sandbox.world
    ids = lambda w: [(p, list(w.accounts[p])) for p in w.accounts]  # noqa: E731
    assert ids(a) == ids(b) and ids(a) != ids(c)
    acct = next(iter(a.accounts["instagram"].values()))
    acct_b = b.accounts["instagram"][acct.id]
    page_a, _ = a.feed_page(acct, T0, None, 10)
    page_b, _ = b.feed_page(acct_b, T0, None, 10)
    assert page_a == page_b
    assert any(any(ch in it.text for ch in "éèüãç") for it in a.feed_page(acct, T0, None, 100)[0])


async def test_mint_token_for_each_platform(client: httpx.AsyncClient) -> None:
    accounts = (await client.get("/_sandbox/accounts")).json()
    for platform, rows in accounts.items():
        r = await client.post(
            "/_sandbox/tokens", json={"platform": platform, "account": rows[0]["id"], "lifetime": 600}
        )
        body = r.json()
        assert r.status_code == 201 and body["access_token"] and body["expires_in"] == 600, (platform, body)
    r = await client.post(
        "/_sandbox/tokens",
        json={"platform": "twitter", "account": accounts["twitter"][0]["id"], "scopes": ["tweet.read", "users.read"]},
    )
    assert "refresh_token" not in r.json()
    r = await client.post("/_sandbox/tokens", json={"platform": "tiktok", "account": "nope"})
    assert r.status_code == 404


async def test_publish_faults_clock(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    tt = next(iter(sandbox.world.accounts["tiktok"].values()))
    r = await client.post(
        "/_sandbox/publish",
        json={"platform": "tiktok", "account": tt.id, "kind": "post", "text": "Fête de la Musique #HappySpring"},
    )
    assert r.status_code == 201 and r.json()["text"] == "Fête de la Musique #HappySpring"
    r = await client.post("/_sandbox/publish", json={"platform": "tiktok", "account": tt.id, "kind": "story"})
    assert r.status_code == 400
    r = await client.post("/_sandbox/faults", json={"platform": "tiktok", "fault": "slow", "latency_ms": 5})
    assert r.status_code == 201 and r.json()["latency_ms"] == 5
    assert (await client.post("/_sandbox/faults", json={"platform": "tiktok", "fault": "boom"})).status_code == 400
    assert len((await client.get("/_sandbox/faults")).json()["faults"]) == 1
    assert (await client.delete("/_sandbox/faults")).json()["cleared"] == 1
    before = (await client.get("/_sandbox/clock")).json()["now"]
    after = (await client.post("/_sandbox/clock", json={"advance_seconds": 3600})).json()["now"]
    assert after - before == 3600 and sandbox.now() == after


async def test_index_and_openapi_absent(client: httpx.AsyncClient) -> None:
    r = await client.get("/_sandbox/")
    assert r.status_code == 200 and "Loupe platform sandbox" in r.text
    assert (await client.get("/openapi.json")).status_code == 404
    r = await client.get("/nowhere.example.com/x")
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_faults_and_credentials_at_creation() -> None:
    app = create_app(
        seed=1,
        clock=Clock(frozen_at=T0),
        faults=[{"platform": "youtube", "fault": "quota_exhausted"}],
        credentials={"twitter": {"client_id": "pub", "client_secret": None}},
    )
    sandbox = app.state.sandbox
    assert sandbox.faults.faults[0].fault == "quota_exhausted"
    assert sandbox.credentials["twitter"] == ("pub", "")
