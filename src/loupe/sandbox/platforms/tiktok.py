"""TikTok Login Kit v2 and Display API (www.tiktok.com, open.tiktokapis.com)."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..common import auth_token, json, json_body, params, sandbox_of
from ..oauth import AuthorizeSpec, simple_choices, simple_resolve, with_state
from ..oauth2 import Outcome, bearer_token, exchange_code, refresh
from ..state import Sandbox
from ..tokens import Token
from ..world import Account, Item

# Today's docs: access tokens last 2 h, refresh tokens 180 days (older pages said 24 h / 365 d); every
# refresh rotates the refresh token and the new one gets the full 180 days.
ACCESS_LIFETIME, REFRESH_LIFETIME = 7200, 15_552_000
DEFAULT_VIDEOS, MAX_VIDEOS = 10, 20  # video/list `max_count`: 10 when omitted, at most 20
USER_FIELDS = {
    "open_id": "user.info.basic",
    "union_id": "user.info.basic",
    "avatar_url": "user.info.basic",
    "avatar_url_100": "user.info.basic",
    "avatar_large_url": "user.info.basic",
    "display_name": "user.info.basic",
    "bio_description": "user.info.profile",
    "profile_deep_link": "user.info.profile",
    "is_verified": "user.info.profile",
    "username": "user.info.profile",
    "follower_count": "user.info.stats",
    "following_count": "user.info.stats",
    "likes_count": "user.info.stats",
    "video_count": "user.info.stats",
}
VIDEO_FIELDS = {
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
}

AUTHORIZE = AuthorizeSpec(
    brand="TikTok",
    family="tiktok",
    platforms=("tiktok",),
    choices=simple_choices("tiktok"),
    resolve=simple_resolve("tiktok"),
    client_param="client_key",
    scope_sep=",",
    success=lambda q, code: with_state(q, {"code": code.value, "scopes": ",".join(code.scopes)}),
    denied=lambda q: with_state(q, {"error": "access_denied", "error_description": "The user denied the request"}),
)


def log_id(request: Request) -> str:
    return "2026" + hashlib.md5(str(request.url).encode()).hexdigest()[:20].upper()


def oauth_error(request: Request, error: str, detail: str, status: int = 400) -> Response:
    return json({"error": error, "error_description": detail, "log_id": log_id(request)}, status=status)


def api_error(request: Request, code: str, message: str, status: int) -> Response:
    return json({"data": {}, "error": {"code": code, "message": message, "log_id": log_id(request)}}, status=status)


def ok(request: Request, data: dict) -> Response:
    # a TikTok success still carries an error object whose code is "ok"
    return json({"data": data, "error": {"code": "ok", "message": "", "log_id": log_id(request)}})


def token_body(token: Token, sandbox: Sandbox) -> dict[str, object]:
    refresh_token = sandbox.tokens.get(token.refresh)
    return {
        "access_token": token.value,
        "expires_in": token.lifetime(),
        "open_id": token.account_id,
        "refresh_expires_in": refresh_token.lifetime() if refresh_token else 0,
        "refresh_token": token.refresh,
        "scope": ",".join(token.scopes),
        "token_type": "Bearer",
    }


async def token_endpoint(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    client = q.get("client_key", "")
    if sandbox.client_platform(client, ("tiktok",)) is None or not sandbox.secret_ok("tiktok", q.get("client_secret")):
        return oauth_error(request, "invalid_client", "Client key or secret is invalid.", 401)
    grant = q.get("grant_type")
    if grant == "authorization_code":
        out: Outcome = exchange_code(sandbox, "tiktok", q, client, ACCESS_LIFETIME, REFRESH_LIFETIME)
    elif grant == "refresh_token":
        out = refresh(sandbox, "tiktok", q, client, ACCESS_LIFETIME, rotate=True, refresh_lifetime=REFRESH_LIFETIME)
    else:
        return oauth_error(request, "unsupported_grant_type", f"grant_type {grant!r} is not supported.")
    if out.token is None:
        return oauth_error(request, out.error, out.detail)
    return json(token_body(out.token, sandbox))


async def revoke(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    if sandbox.client_platform(q.get("client_key"), ("tiktok",)) is None:
        return oauth_error(request, "invalid_client", "Client key or secret is invalid.", 401)
    sandbox.tokens.revoke(q.get("token", ""))
    return json({})


async def guard(request: Request, scope: str | None, endpoint: str) -> tuple[Token | None, Response | None]:
    sandbox = sandbox_of(request)
    token, problem = bearer_token(sandbox, auth_token(request, "Bearer"), "tiktok")
    if token is None or problem:
        return None, api_error(
            request, "access_token_invalid", "The access token is invalid or not found in the request.", 401
        )
    if scope and scope not in token.scopes:
        return None, api_error(request, "scope_not_authorized", f"The user did not authorize the scope {scope}.", 401)
    fault = await sandbox.call_fault("tiktok", [token.account_id])
    if fault and fault.fault == "server_error":
        return None, api_error(request, "internal_error", "Something went wrong. Please try again later.", 500)
    window = sandbox.meters.window(("tiktok", token.client_id, endpoint), 60)
    if fault or window.count(sandbox.now()) >= sandbox.limits.tiktok_per_minute:
        return None, api_error(
            request, "rate_limit_exceeded", "API rate limit was exceeded, please try again later.", 429
        )
    window.hit(sandbox.now())
    return token, None


def fields_of(request: Request, allowed: set[str] | dict[str, str]) -> list[str] | str:
    fields = [f for f in request.query_params.get("fields", "").split(",") if f]
    if not fields:
        return "fields is required"
    unknown = [f for f in fields if f not in allowed]
    return f"Invalid fields: {','.join(unknown)}" if unknown else fields


async def user_info(request: Request) -> Response:
    token, err = await guard(request, "user.info.basic", "user_info")
    if err:
        return err
    assert token is not None
    fields = fields_of(request, USER_FIELDS)
    if isinstance(fields, str):
        return api_error(request, "invalid_params", fields, 400)
    missing = sorted({USER_FIELDS[f] for f in fields} - set(token.scopes))
    if missing:
        return api_error(request, "scope_not_authorized", f"The user did not authorize the scope {missing[0]}.", 401)
    sandbox = sandbox_of(request)
    acct = sandbox.world.account("tiktok", token.account_id)
    assert acct is not None
    now = sandbox.now()
    feed, _ = sandbox.world.feed_page(acct, now, None, 10_000)
    avatar = f"https://p16-sign.tiktokcdn.com/{acct.id}~tplv-avatar.jpeg"
    available = {
        "open_id": acct.id,
        "union_id": "u" + acct.id[4:],
        "avatar_url": avatar,
        "avatar_url_100": avatar,
        "avatar_large_url": avatar,
        "display_name": acct.name,
        "bio_description": "crème brûlée & São Paulo 🌆",
        "profile_deep_link": f"https://vm.tiktok.com/{acct.username}",
        "is_verified": acct.followers > 500_000,
        "username": acct.username,
        "follower_count": acct.followers_at(now, sandbox.world.anchor),
        "following_count": acct.following,
        "likes_count": sum(it.metrics(now)["likes"] for it in feed),
        "video_count": len(feed),
    }
    return ok(request, {"user": {f: available[f] for f in fields}})


def video(acct: Account, item: Item, now: float, fields: list[str]) -> dict[str, object]:
    m = item.metrics(now)
    share = f"https://www.tiktok.com/@{acct.username}/video/{item.id}"
    available = {
        "id": item.id,
        "create_time": int(item.published_at),
        "title": item.title,
        "duration": item.duration,
        "cover_image_url": f"https://p16-sign.tiktokcdn.com/obj/{item.id}.jpeg",
        "share_url": share,
        "video_description": item.text,
        "height": 1920,
        "width": 1080,
        "embed_html": f'<blockquote class="tiktok-embed" cite="{share}"></blockquote>',
        "embed_link": f"https://www.tiktok.com/embed/v2/{item.id}",
        "like_count": m["likes"],
        "comment_count": m["comments"],
        "share_count": m["shares"],
        "view_count": m["views"],
    }
    return {f: available[f] for f in fields}


async def video_list(request: Request) -> Response:
    token, err = await guard(request, "video.list", "video_list")
    if err:
        return err
    assert token is not None
    fields = fields_of(request, VIDEO_FIELDS)
    body = await json_body(request)
    if isinstance(fields, str) or body is None:
        return api_error(request, "invalid_params", fields if isinstance(fields, str) else "Invalid body", 400)
    max_count, cursor = body.get("max_count", DEFAULT_VIDEOS), body.get("cursor")
    bad_cursor = cursor is not None and not isinstance(cursor, int)
    if not isinstance(max_count, int) or not 1 <= max_count <= MAX_VIDEOS or bad_cursor:
        return api_error(request, "invalid_params", "max_count must be 1..20 and cursor an integer (ms)", 400)
    sandbox = sandbox_of(request)
    acct = sandbox.world.account("tiktok", token.account_id)
    assert acct is not None
    now = sandbox.now()
    before = (cursor / 1000, "") if cursor else None  # cursor: ms; strictly older than it
    items, more = sandbox.world.feed_page(acct, now, before, max_count)
    next_cursor = int(items[-1].published_at * 1000) if items else (cursor or int(now * 1000))
    return ok(
        request, {"videos": [video(acct, it, now, fields) for it in items], "cursor": next_cursor, "has_more": more}
    )


async def video_query(request: Request) -> Response:
    token, err = await guard(request, "video.list", "video_query")
    if err:
        return err
    assert token is not None
    fields = fields_of(request, VIDEO_FIELDS)
    body = await json_body(request)
    ids = ((body or {}).get("filters") or {}).get("video_ids")
    if isinstance(fields, str) or not isinstance(ids, list) or not 1 <= len(ids) <= 20:
        return api_error(
            request,
            "invalid_params",
            fields if isinstance(fields, str) else "filters.video_ids must hold 1 to 20 ids",
            400,
        )
    sandbox = sandbox_of(request)
    acct = sandbox.world.account("tiktok", token.account_id)
    assert acct is not None
    now = sandbox.now()
    found = [sandbox.world.find_item("tiktok", str(i)) for i in ids]
    videos = [
        video(acct, it, now, fields)
        for it in found
        if it is not None and it.account_id == acct.id and it.published_at <= now
    ]
    return ok(request, {"videos": videos, "cursor": 0, "has_more": False})


def routes() -> list[BaseRoute]:
    from ..oauth import authorize_endpoint

    return [
        Mount(
            "/www.tiktok.com",
            routes=[Route("/v2/auth/authorize/", authorize_endpoint(AUTHORIZE), methods=["GET", "POST"])],
        ),
        Mount(
            "/open.tiktokapis.com",
            routes=[
                Route("/v2/oauth/token/", token_endpoint, methods=["POST"]),
                Route("/v2/oauth/revoke/", revoke, methods=["POST"]),
                Route("/v2/user/info/", user_info, methods=["GET"]),
                Route("/v2/video/list/", video_list, methods=["POST"]),
                Route("/v2/video/query/", video_query, methods=["POST"]),
            ],
        ),
    ]
