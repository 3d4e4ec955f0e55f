"""/_sandbox/apps: each app's dashboard callbacks, and "the creator removes the app" (revoke + callbacks).

Real platforms call these callbacks when a creator removes the app in their settings; the sandbox lets a
developer (or a test) trigger that moment on purpose and see what the receiver answered.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .callbacks import CALLBACK_FIELDS, META, meta_signed_request, post, tiktok_signature
from .common import json, json_body, params, sandbox_of
from .state import FAMILY, Sandbox
from .world import PLATFORMS

NO_CALLBACK = "{platform} has no app-removal callback: the tokens were revoked, nothing was called"
TIKTOK_CONTENT = '{"reason": 1}'  # reason 1: the user disconnected the app (a JSON string inside the JSON)


def _bad(message: str, status: int = 400) -> Response:
    return json({"error": message}, status=status)


def view(sandbox: Sandbox, platform: str) -> dict[str, Any]:
    out: dict[str, Any] = {"platform": platform, "client_id": sandbox.credentials[platform][0]}
    if platform in CALLBACK_FIELDS:
        out.update(sandbox.callbacks[platform])
    else:
        out["note"] = f"{platform} has no app-removal callback"
    return out


async def apps(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return json({p: view(sandbox, p) for p in PLATFORMS})


async def app(request: Request) -> Response:
    sandbox, platform = sandbox_of(request), request.path_params["platform"]
    if platform not in PLATFORMS:
        return _bad(f"unknown platform {platform!r}", 404)
    if request.method == "PUT":
        body = await json_body(request)
        if body is None:
            return _bad("expected a JSON object")
        allowed = CALLBACK_FIELDS.get(platform, ())
        for key, value in body.items():
            if key not in allowed:
                return _bad(f"{platform} apps have no {key!r}; settable: {list(allowed)}")
            if value is not None and not (isinstance(value, str) and value.startswith(("http://", "https://"))):
                return _bad(f"{key} must be an absolute http(s) URL or null")
        sandbox.callbacks[platform].update(body)
    return json(view(sandbox, platform))


def revoke(sandbox: Sandbox, platform: str, family: str, match: str, field: str) -> int:
    """Revoke every token of this app whose `field` (account_id | user_id) is `match`; page tokens too."""
    client_id = sandbox.credentials[platform][0]
    hits = [
        t
        for t in sandbox.tokens.tokens.values()
        if t.client_id == client_id and t.family == family and getattr(t, field) == match and not t.revoked
    ]
    for token in hits:
        token.revoked = True
    return len(hits)


def meta_subject(sandbox: Sandbox, platform: str, account_id: str) -> tuple[str, str] | None:
    """(family, user id) of the grant removed: an IG account holding Instagram Login tokens of this app
    removes those; anything else (the fb_user_id, a Page, an IG account) removes the person's Facebook Login."""
    world, client_id = sandbox.world, sandbox.credentials[platform][0]
    if account_id in world.fb_users:
        return "fb", account_id
    acct = world.account("instagram", account_id) or world.account("facebook", account_id)
    if acct is None:
        return None
    ig_login = any(
        t.family == "ig" and t.account_id == acct.id and t.client_id == client_id
        for t in sandbox.tokens.tokens.values()
    )
    if ig_login and acct.platform == "instagram" and platform == "instagram":
        return "ig", acct.id
    return "fb", world.creator_of(acct).fb_user_id


async def remove_meta(
    sandbox: Sandbox, http: httpx.AsyncClient, platform: str, account_id: str, delete_data: bool
) -> dict[str, Any] | None:
    subject = meta_subject(sandbox, platform, account_id)
    if subject is None:
        return None
    family, user_id = subject
    revoked = revoke(sandbox, platform, family, user_id, "user_id")
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(sandbox.now()), "user_id": user_id}
    signed = meta_signed_request(sandbox.credentials[platform][1], payload)
    urls = sandbox.callbacks[platform]
    form = {"data": {"signed_request": signed}}
    calls = [await post(http, "deauthorize", urls["deauthorize_url"], {"signed_request": signed}, **form)]
    out: dict[str, Any] = {"login": "instagram" if family == "ig" else "facebook", "user_id": user_id}
    if delete_data:
        call = await post(http, "data_deletion", urls["data_deletion_url"], {"signed_request": signed}, **form)
        calls.append(call)
        out["data_deletion"] = _confirmation(call.get("body"))
    return {**out, "revoked": revoked, "payload": payload, "calls": calls}


def _confirmation(body: str | None) -> dict[str, Any] | None:
    """Meta expects `{"url", "confirmation_code"}` back; None when the receiver answered anything else."""
    try:
        data = orjson.loads(body or "")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not {"url", "confirmation_code"} <= set(data):
        return None
    return {"url": data["url"], "confirmation_code": data["confirmation_code"]}


async def remove_tiktok(sandbox: Sandbox, http: httpx.AsyncClient, account_id: str) -> dict[str, Any] | None:
    if sandbox.world.account("tiktok", account_id) is None:
        return None
    revoked = revoke(sandbox, "tiktok", "tiktok", account_id, "account_id")
    client_key, secret = sandbox.credentials["tiktok"]
    now = int(sandbox.now())
    event = {
        "client_key": client_key,
        "event": "authorization.removed",
        "create_time": now,
        "user_openid": account_id,
        "content": TIKTOK_CONTENT,
    }
    raw = orjson.dumps(event)
    headers = {"Content-Type": "application/json", "TikTok-Signature": tiktok_signature(secret, now, raw)}
    url = sandbox.callbacks["tiktok"]["webhook_url"]
    call = await post(http, "webhook", url, {"json": event, "headers": headers}, content=raw, headers=headers)
    return {"user_id": account_id, "revoked": revoked, "calls": [call]}


async def remove(request: Request) -> Response:
    sandbox, platform = sandbox_of(request), request.path_params["platform"]
    if platform not in PLATFORMS:
        return _bad(f"unknown platform {platform!r}", 404)
    body = await params(request)  # JSON, or the index page's form
    account_id = str(body.get("account_id") or "")
    delete_data = str(body.get("delete_data", "")).lower() in {"true", "1", "on", "yes"}
    async with httpx.AsyncClient() as http:
        if platform in META:
            done = await remove_meta(sandbox, http, platform, account_id, delete_data)
        elif platform == "tiktok":
            done = await remove_tiktok(sandbox, http, account_id)
        elif sandbox.world.account(platform, account_id) is not None:
            revoked = revoke(sandbox, platform, FAMILY[platform], account_id, "account_id")
            note = NO_CALLBACK.format(platform=platform)
            done = {"user_id": account_id, "revoked": revoked, "calls": [], "note": note}
        else:
            done = None
    if done is None:
        return _bad(f"unknown {platform} account {account_id!r}", 404)
    return json({"platform": platform, "account_id": account_id, **done})


def routes() -> list[BaseRoute]:
    return [
        Route("/apps", apps),
        Route("/apps/{platform}", app, methods=["GET", "PUT"]),
        Route("/apps/{platform}/remove", remove, methods=["POST"]),
    ]
