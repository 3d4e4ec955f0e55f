"""Admin surface under /_sandbox/ (not on any real platform): accounts, tokens, publish, faults, clock."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import apps, webhooks
from .callbacks import CALLBACK_FIELDS
from .common import json, json_body, sandbox_of
from .faults import FAULTS
from .oauth import templates
from .platforms.meta_oauth import DATA_ACCESS_DAYS, LONG_LIVED
from .state import Sandbox, issue_pair
from .world import PLATFORMS, STORY_LIFETIME, Item

DEFAULT_SCOPES = {
    ("instagram", "fb"): ["instagram_basic", "instagram_manage_insights", "pages_show_list", "pages_read_engagement"],
    ("instagram", "ig"): ["instagram_business_basic", "instagram_business_manage_insights"],
    ("facebook", "fb"): ["pages_show_list", "pages_read_engagement", "read_insights"],
    ("tiktok", "tiktok"): ["user.info.basic", "user.info.profile", "user.info.stats", "video.list"],
    ("youtube", "google"): [
        "https://www.googleapis.com/auth/youtube.readonly",
        "https://www.googleapis.com/auth/yt-analytics.readonly",
    ],
    ("twitter", "x"): ["tweet.read", "users.read", "offline.access"],
    ("twitch", "twitch"): ["moderator:read:followers", "user:read:email"],
}
OAUTH2 = {  # platform -> (family, access lifetime, refresh lifetime or None)
    "tiktok": ("tiktok", 7200, 15_552_000),
    "youtube": ("google", 3599, None),
    "twitter": ("x", 7200, None),
    "twitch": ("twitch", 14124, None),
}


def bad(message: str, status: int = 400) -> Response:
    return json({"error": message}, status=status)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


async def index(request: Request) -> Response:
    sandbox = sandbox_of(request)
    context = {
        "seed": sandbox.seed,
        "now": iso(sandbox.now()),
        "faults": sandbox.faults.faults,
        "creators": sandbox.world.creators,
        "apps": {p: apps.view(sandbox, p) for p in PLATFORMS},
        "callback_fields": CALLBACK_FIELDS,
    }
    return templates.TemplateResponse(request, "index.html", context)


async def accounts(request: Request) -> Response:
    world = sandbox_of(request).world
    return json({p: [a.flags() for a in world.accounts[p].values()] for p in PLATFORMS})


def mint(sandbox: Sandbox, body: dict[str, Any]) -> dict[str, Any]:
    platform, account_id = body.get("platform"), str(body.get("account", ""))
    acct = sandbox.world.account(str(platform), account_id)
    if acct is None:
        raise ValueError(f"unknown {platform} account {account_id!r}")
    client_id = sandbox.credentials[acct.platform][0]
    lifetime = body.get("lifetime")
    now = sandbox.now()
    out: dict[str, Any] = {"platform": acct.platform, "account": acct.id}
    if acct.platform in {"instagram", "facebook"}:
        login = body.get("login") or ("instagram" if acct.platform == "instagram" and not acct.page_id else "facebook")
        family = "ig" if login == "instagram" else "fb"
        scopes = body.get("scopes") or DEFAULT_SCOPES[(acct.platform, family)]
        targets = [t for t in (acct.page_id, acct.id, acct.ig_id) if t]
        token = sandbox.tokens.issue(
            platform=acct.platform,
            family=family,
            account_id=acct.id,
            user_id=acct.id if family == "ig" else acct.fb_user_id or "",
            scopes=scopes,
            client_id=client_id,
            now=now,
            lifetime=LONG_LIVED if lifetime is None else float(lifetime),
            targets=targets,
            long_lived=lifetime is None or float(lifetime) > 86400,
            data_access_days=DATA_ACCESS_DAYS,
        )
        out.update(host="graph.instagram.com" if family == "ig" else "graph.facebook.com", user_id=token.user_id)
    else:
        family, default_life, refresh_life = OAUTH2[acct.platform]
        scopes = body.get("scopes") or DEFAULT_SCOPES[(acct.platform, family)]
        with_refresh = acct.platform != "twitter" or "offline.access" in scopes
        token = issue_pair(
            sandbox,
            platform=acct.platform,
            account_id=acct.id,
            user_id=acct.id,
            scopes=scopes,
            client_id=client_id,
            lifetime=default_life if lifetime is None else float(lifetime),
            refresh_lifetime=refresh_life,
            with_refresh=with_refresh,
        )
        if token.refresh:
            out["refresh_token"] = token.refresh
    out.update(access_token=token.value, expires_in=token.lifetime(), scopes=token.scopes, client_id=client_id)
    return out


async def tokens(request: Request) -> Response:
    body = await json_body(request)
    if body is None:
        return bad("expected a JSON object")
    try:
        return json(mint(sandbox_of(request), body), status=201)
    except ValueError as err:
        return bad(str(err), 404)


def describe(item: Item, sandbox: Sandbox) -> dict[str, Any]:
    out = {
        "id": item.id,
        "platform": item.platform,
        "account": item.account_id,
        "kind": item.kind,
        "text": item.text,
        "published_at": iso(item.published_at),
        "metrics": item.metrics(sandbox.now()),
    }
    if item.kind == "STORY":
        out["expires_at"] = iso(item.published_at + STORY_LIFETIME)
    return out


async def publish(request: Request) -> Response:
    sandbox = sandbox_of(request)
    body = await json_body(request)
    if body is None:
        return bad("expected a JSON object")
    acct = sandbox.world.account(str(body.get("platform")), str(body.get("account", "")))
    if acct is None:
        return bad("unknown platform/account", 404)
    kind = str(body.get("kind", "post"))
    if kind == "story" and acct.platform != "instagram":
        return bad("stories exist on instagram only")
    item = sandbox.world.publish(acct, sandbox.now(), kind, body.get("text"))
    return json(describe(item, sandbox), status=201)


async def faults(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.method == "GET":
        return json({"faults": [f.as_dict() for f in sandbox.faults.faults], "available": sorted(FAULTS)})
    body = await json_body(request) if await request.body() else {}
    if body is None:
        return bad("expected a JSON object")
    spec = {**dict(request.query_params), **body}
    if request.method == "DELETE":
        removed = sandbox.faults.clear(spec.get("platform"), spec.get("account"), spec.get("fault"))
        return json({"cleared": removed, "faults": [f.as_dict() for f in sandbox.faults.faults]})
    try:
        fault = sandbox.add_fault(
            str(spec.get("platform")), str(spec.get("fault")), spec.get("account"), spec.get("latency_ms")
        )
    except ValueError as err:
        return bad(str(err))
    return json(fault.as_dict(), status=201)


async def clock(request: Request) -> Response:
    sandbox = sandbox_of(request)
    sent: list[dict[str, Any]] | None = None
    if request.method == "POST":
        body = await json_body(request)
        start = sandbox.now()
        try:
            seconds = float((body or {}).get("advance_seconds", 0))
            sandbox.clock.advance(seconds)
        except (TypeError, ValueError) as err:
            return bad(str(err))
        if (body or {}).get("story_webhooks"):  # opt-in: story_insights of every story that expired meanwhile
            sent = await webhooks.on_clock_advanced(sandbox, start, sandbox.now())
    now = sandbox.now()
    out: dict[str, Any] = {"now": now, "iso": iso(now), "frozen": sandbox.clock.frozen}
    if sent is not None:
        out["story_webhooks"] = sent
    return json(out)


async def limits(request: Request) -> Response:
    sandbox = sandbox_of(request)
    if request.method == "POST":
        body = dict(await json_body(request) or {})
        reset = bool(body.pop("reset_meters", False))
        try:
            sandbox.limits.update(body)
        except (TypeError, ValueError) as err:
            return bad(str(err))
        if reset:
            sandbox.meters.reset()
    return json(sandbox.limits.as_dict())


def routes() -> list[BaseRoute]:
    return [
        Route("/", index),
        Route("/accounts", accounts),
        Route("/tokens", tokens, methods=["POST"]),
        Route("/publish", publish, methods=["POST"]),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/limits", limits, methods=["GET", "POST"]),
        *apps.routes(),
        *webhooks.routes(),
    ]
