"""The sandbox's Meta Webhooks sender: story_insights deliveries, signed with the instagram app secret,
reaching a real receiver (platform-apis.md §0.8, §1.10)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loupe.sandbox.state import Sandbox
from loupe.sandbox.webhooks import hub_signature
from loupe.sandbox.world import STORY_LIFETIME

from .conftest import live_server

SECRET = "sandbox-secret-instagram"
WINDOW = 6 * 3600


def verify(header: str, raw: bytes, secret: str = SECRET) -> bool:
    """Meta's documented check, written independently of the sandbox's signer."""
    scheme, _, digest = header.partition("=")
    return scheme == "sha256" and hmac.compare_digest(
        digest, hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    )


@pytest.fixture(scope="module")
def received() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def record(request: Request) -> Response:
        seen.append({"path": request.url.path, "headers": dict(request.headers), "raw": await request.body()})
        return Response(status_code=200)

    with live_server(Starlette(routes=[Route("/webhooks/meta", record, methods=["POST"])])) as url:
        yield url, seen


def ig_with_stories(sandbox: Sandbox) -> Any:
    return next(
        a
        for a in sandbox.world.accounts["instagram"].values()
        if a.story_period and sandbox.world.live_stories(a, sandbox.now())
    )


async def test_story_insights_are_signed_with_the_instagram_app_secret(
    admin: httpx.AsyncClient, wired: Any, seen: list[dict[str, Any]], received: tuple[str, list[Any]]
) -> None:
    sandbox: Sandbox = wired.state.sandbox
    acct = ig_with_stories(sandbox)
    live = sandbox.world.live_stories(acct, sandbox.now())
    assert (await admin.get("/_sandbox/webhooks")).json()["url"] == f"{received[0]}/webhooks/meta"
    answer = await admin.post("/_sandbox/webhooks/story-insights", json={"account_id": acct.id})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stories"] == [it.id for it in live] and len(seen) == len(live)
    for call, item in zip(seen, live, strict=True):
        assert call["path"] == "/webhooks/meta" and call["headers"]["content-type"] == "application/json"
        assert verify(call["headers"]["x-hub-signature-256"], call["raw"])
        assert not verify(call["headers"]["x-hub-signature-256"], call["raw"], "sandbox-secret-facebook")
        body = json.loads(call["raw"])
        assert body["object"] == "instagram" and body["entry"][0]["id"] == acct.id
        [change] = body["entry"][0]["changes"]
        assert change["field"] == "story_insights" and change["value"]["media_id"] == item.id
        assert set(change["value"]) == {
            "media_id",
            "exits",
            "replies",
            "reach",
            "taps_forward",
            "taps_back",
            "impressions",
        }
    assert [c["status"] for c in answer.json()["calls"]] == [200] * len(live)


async def test_one_story_by_id_and_refusals(admin: httpx.AsyncClient, wired: Any, seen: list[dict[str, Any]]) -> None:
    sandbox: Sandbox = wired.state.sandbox
    acct = ig_with_stories(sandbox)
    story = sandbox.world.live_stories(acct, sandbox.now())[0]
    one = await admin.post("/_sandbox/webhooks/story-insights", json={"account_id": acct.id, "media_id": story.id})
    assert one.status_code == 200 and one.json()["stories"] == [story.id] and len(seen) == 1
    assert (await admin.post("/_sandbox/webhooks/story-insights", json={"account_id": "nope"})).status_code == 404
    other = await admin.post("/_sandbox/webhooks/story-insights", json={"account_id": acct.id, "media_id": "178"})
    assert other.status_code == 404
    assert (await admin.put("/_sandbox/webhooks", json={"url": "ftp://x"})).status_code == 400
    assert (await admin.put("/_sandbox/webhooks", json={"url": None})).json()["url"] is None
    skipped = await admin.post("/_sandbox/webhooks/story-insights", json={"account_id": acct.id, "media_id": story.id})
    assert "skipped" in skipped.json()["calls"][0] and len(seen) == 1


async def test_advancing_the_clock_sends_the_stories_that_expired(
    admin: httpx.AsyncClient, wired: Any, seen: list[dict[str, Any]]
) -> None:
    sandbox: Sandbox = wired.state.sandbox
    start = sandbox.now()
    expiring = {
        it.id
        for a in sandbox.world.accounts["instagram"].values()
        for it in sandbox.world.live_stories(a, start)
        if it.published_at + STORY_LIFETIME <= start + WINDOW
    }
    assert expiring, "some story of the world expires within the window"
    quiet = await admin.post("/_sandbox/clock", json={"advance_seconds": 0})
    assert "story_webhooks" not in quiet.json() and seen == []
    moved = await admin.post("/_sandbox/clock", json={"advance_seconds": WINDOW, "story_webhooks": True})
    assert moved.status_code == 200
    sent = {json.loads(c["raw"])["entry"][0]["changes"][0]["value"]["media_id"] for c in seen}
    assert sent == expiring and len(moved.json()["story_webhooks"]) == len(expiring)
    assert all(verify(c["headers"]["x-hub-signature-256"], c["raw"]) for c in seen)


def test_hub_signature_matches_metas_example_format() -> None:
    raw = b'{"object":"instagram"}'
    header = hub_signature("s3cret", raw)
    assert header.startswith("sha256=") and len(header) == 7 + 64 and verify(header, raw, "s3cret")
