"""Meta Webhooks of the Instagram app: `story_insights` (platform-apis.md §1.10), sent once a story expires.

Each delivery is a JSON POST signed like Meta's: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body,
app secret)>` with the instagram app's secret. The world is lazy (nothing happens between requests), so
"when a story expires" is when someone asks: `POST /_sandbox/webhooks/story-insights` (one account, one
story or its live ones), or `POST /_sandbox/clock {"advance_seconds": n, "story_webhooks": true}` (every
story that expired during the advance). `GET|PUT /_sandbox/webhooks` shows or sets where they go (default
`{callback_base}/webhooks/meta`).

`hub_signature` is importable so tests of a receiver can forge genuine deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .callbacks import post
from .common import json, json_body, sandbox_of
from .state import Sandbox
from .world import STORY_LIFETIME, Account, Item

DEFAULT_PATH = "/webhooks/meta"


def hub_signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def default_url(callback_base: str | None) -> str | None:
    return f"{callback_base.rstrip('/')}{DEFAULT_PATH}" if callback_base else None


def story_insights_value(item: Item, now: float) -> dict[str, int | str]:
    """The story's lifetime figures at its expiry (or now, if it is still live), in the webhook's old names."""
    m = item.metrics(min(now, item.published_at + STORY_LIFETIME))
    views = m["views"]
    return {
        "media_id": item.id,
        "exits": int(views * 0.1),
        "replies": m["replies"],
        "reach": m["reach"],
        "taps_forward": int(views * 0.55),
        "taps_back": int(views * 0.08),
        "impressions": views,
    }


def story_insights_payload(acct: Account, item: Item, now: float) -> dict[str, Any]:
    change = {"field": "story_insights", "value": story_insights_value(item, now)}
    return {"object": "instagram", "entry": [{"id": acct.id, "time": int(now), "changes": [change]}]}


async def send_story_insights(
    sandbox: Sandbox, http: httpx.AsyncClient, acct: Account, items: list[Item], url: str | None = None
) -> list[dict[str, Any]]:
    """One signed delivery per story (Meta fires once per expired story); outcomes reported, never raised."""
    target = url if url is not None else sandbox.meta_webhook_url
    secret = sandbox.credentials["instagram"][1]
    calls = []
    for item in items:
        payload = story_insights_payload(acct, item, sandbox.now())
        raw = orjson.dumps(payload)
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": hub_signature(secret, raw)}
        sent = {"json": payload, "headers": headers}
        calls.append(await post(http, "story_insights", target, sent, content=raw, headers=headers))
    return calls


def expired_between(sandbox: Sandbox, start: float, end: float) -> list[tuple[Account, Item]]:
    """Every Instagram story whose 24 h ended in (start, end]: scheduled ones and published ones."""
    world, out = sandbox.world, []
    for acct in world.accounts["instagram"].values():
        stories = world.live_stories(acct, start)  # live at `start`: the only ones that can expire after it
        out += [(acct, it) for it in stories if it.published_at + STORY_LIFETIME <= end]
    return out


async def on_clock_advanced(sandbox: Sandbox, start: float, end: float) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    async with httpx.AsyncClient() as http:
        for acct, item in expired_between(sandbox, start, end):
            calls += await send_story_insights(sandbox, http, acct, [item])
    return calls


def _bad(message: str, status: int = 400) -> Response:
    return json({"error": message}, status=status)


async def settings(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.method == "PUT":
        body = await json_body(request)
        url = (body or {}).get("url", "missing")
        if body is None or not (url is None or (isinstance(url, str) and url.startswith(("http://", "https://")))):
            return _bad('expected {"url": <absolute http(s) URL or null>}')
        sandbox.meta_webhook_url = url
    return json({"url": sandbox.meta_webhook_url, "fields": ["story_insights"]})


async def story_insights(request: Request) -> Response:
    """`{account_id, media_id?, url?}`: that story, or every live story of the account, as if it expired now."""
    sandbox = sandbox_of(request)
    body = await json_body(request)
    if body is None:
        return _bad("expected a JSON object")
    acct = sandbox.world.account("instagram", str(body.get("account_id") or ""))
    if acct is None:
        return _bad("unknown instagram account", 404)
    if body.get("media_id"):
        item = sandbox.world.find_item("instagram", str(body["media_id"]))
        if item is None or item.kind != "STORY" or item.account_id != acct.id:
            return _bad(f"no story {body['media_id']!r} on account {acct.id}", 404)
        items = [item]
    else:
        items = sandbox.world.live_stories(acct, sandbox.now())
    url = body.get("url")
    async with httpx.AsyncClient() as http:
        calls = await send_story_insights(sandbox, http, acct, items, url if isinstance(url, str) else None)
    return json({"account_id": acct.id, "stories": [it.id for it in items], "calls": calls})


def routes() -> list[BaseRoute]:
    return [
        Route("/webhooks", settings, methods=["GET", "PUT"]),
        Route("/webhooks/story-insights", story_insights, methods=["POST"]),
    ]
