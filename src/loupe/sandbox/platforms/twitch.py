"""Twitch: id.twitch.tv OAuth (authorize, token, validate, revoke) and Helix users / videos / followers."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..common import auth_token, b64, json, params, sandbox_of, unb64
from ..oauth import AuthorizeSpec, authorize_endpoint, simple_choices, simple_resolve, with_state
from ..oauth2 import Outcome, bearer_token, exchange_code, refresh
from ..state import Sandbox
from ..tokens import Token
from ..world import Account, Item, frac

ACCESS_LIFETIME = 14124
APP_TOKEN_LIFETIME = 5_011_271
FOLLOWERS_SCOPE = "moderator:read:followers"

AUTHORIZE = AuthorizeSpec(
    brand="Twitch",
    family="twitch",
    platforms=("twitch",),
    choices=simple_choices("twitch"),
    resolve=simple_resolve("twitch"),
    scope_sep=" ",
    success=lambda q, code: with_state(q, {"code": code.value, "scope": " ".join(code.scopes)}),
    denied=lambda q: with_state(q, {"error": "access_denied", "error_description": "The user denied you access"}),
)


def id_error(status: int, message: str) -> Response:
    return json({"status": status, "message": message}, status=status)


def helix_error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json({"error": error, "status": status, "message": message}, status=status, headers=headers)


def token_body(token: Token, sandbox: Sandbox) -> dict[str, object]:
    body: dict[str, object] = {"access_token": token.value, "expires_in": token.lifetime()}
    if token.refresh:
        body["refresh_token"] = token.refresh
    body.update(scope=token.scopes, token_type="bearer")  # Twitch sends scope as an array
    return body


async def token_endpoint(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    client_id = q.get("client_id", "")
    if sandbox.client_platform(client_id, ("twitch",)) is None:
        return id_error(400, "invalid client")
    if not sandbox.secret_ok("twitch", q.get("client_secret")):
        return id_error(403, "invalid client secret")
    grant = q.get("grant_type")
    if grant == "authorization_code":
        out: Outcome = exchange_code(sandbox, "twitch", q, client_id, ACCESS_LIFETIME, None)
        if out.token is None:
            return id_error(400, "Invalid authorization code")
    elif grant == "refresh_token":
        out = refresh(sandbox, "twitch", q, client_id, ACCESS_LIFETIME, rotate=False)
        if out.token is None:
            return id_error(400, "Invalid refresh token")
    elif grant == "client_credentials":
        app_token = sandbox.tokens.issue(
            platform="twitch",
            family="twitch",
            kind="app",
            account_id="",
            user_id="",
            scopes=[],
            client_id=client_id,
            now=sandbox.now(),
            lifetime=APP_TOKEN_LIFETIME,
        )
        return json({"access_token": app_token.value, "expires_in": APP_TOKEN_LIFETIME, "token_type": "bearer"})
    else:
        return id_error(400, "unsupported grant type")
    return json(token_body(out.token, sandbox))


async def validate(request: Request) -> Response:
    sandbox = sandbox_of(request)
    token, trouble = bearer_token(sandbox, auth_token(request, "OAuth", "Bearer"), "twitch")
    if token is None or trouble:
        return id_error(401, "invalid access token")
    acct = sandbox.world.account("twitch", token.account_id)
    body: dict[str, object] = {
        "client_id": token.client_id,
        "scopes": token.scopes,
        "expires_in": token.expires_in(sandbox.now()),
    }
    if acct is not None:
        body.update(login=acct.username, user_id=acct.id)
    return json(body)


async def revoke(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    token = sandbox.tokens.get(q.get("token"))
    if token is None or token.platform != "twitch":
        return id_error(400, "Invalid token")
    if token.client_id != q.get("client_id"):
        return id_error(404, "client does not exist")
    sandbox.tokens.revoke(token.value)
    return Response(status_code=200)


async def guard(request: Request) -> tuple[Token | None, dict[str, str], Response | None]:
    sandbox = sandbox_of(request)
    value = auth_token(request, "Bearer")
    if not value:
        return None, {}, helix_error(401, "Unauthorized", "OAuth token is missing")
    token, trouble = bearer_token(sandbox, value, "twitch")
    if token is None or trouble:
        return None, {}, helix_error(401, "Unauthorized", "Invalid OAuth token")
    client_id = request.headers.get("client-id")
    if not client_id:
        return None, {}, helix_error(401, "Unauthorized", "Client ID is missing")  # checked on every call
    if client_id != token.client_id:
        return None, {}, helix_error(401, "Unauthorized", "Client ID and OAuth token do not match")
    now = sandbox.now()
    bucket = sandbox.meters.window(("twitch", token.client_id, token.user_id), 60)
    limit = sandbox.limits.twitch_points_per_minute
    fault = await sandbox.call_fault("twitch", [token.account_id])
    used = limit if fault and fault.fault in {"rate_limited", "quota_exhausted"} else bucket.count(now)
    allowed = used < limit
    if allowed:
        used = bucket.hit(now)
    headers = {
        "Ratelimit-Limit": str(limit),
        "Ratelimit-Remaining": str(max(0, limit - used)),
        "Ratelimit-Reset": str(int(bucket.reset_at(now)) if bucket.hits else int(now + 60)),
    }
    if not allowed:
        return None, headers, helix_error(429, "Too Many Requests", "Too Many Requests", headers)
    if fault and fault.fault == "server_error":
        return None, headers, helix_error(500, "Internal Server Error", "", headers)
    return token, headers, None


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def user_obj(acct: Account, token: Token) -> dict[str, object]:
    out: dict[str, object] = {
        "id": acct.id,
        "login": acct.username,
        "display_name": acct.name.replace(" ", ""),
        "type": "",
        "broadcaster_type": "partner" if acct.followers > 300_000 else "affiliate" if acct.followers > 5_000 else "",
        "description": "Streams about crème brûlée and São Paulo nights.",
        "profile_image_url": f"https://static-cdn.jtvnw.net/jtv_user_pictures/{acct.id}-profile_image-300x300.png",
        "offline_image_url": "",
        "view_count": 0,
        "created_at": stamp(acct.created_at),
    }
    if "user:read:email" in token.scopes and token.account_id == acct.id:
        out["email"] = f"{acct.username}@example.com"
    return out


async def users(request: Request) -> Response:
    token, headers, err = await guard(request)
    if err:
        return err
    assert token is not None
    world = sandbox_of(request).world
    ids, logins = request.query_params.getlist("id"), request.query_params.getlist("login")
    if len(ids) + len(logins) > 100:
        return helix_error(400, "Bad Request", "The sum of id and login parameters must not exceed 100", headers)
    if not ids and not logins:
        if not token.account_id:
            return helix_error(401, "Unauthorized", "Must provide an ID, Login or OAuth Token", headers)
        ids = [token.account_id]
    found = [world.account("twitch", i) for i in ids]
    found += [
        next((a for a in world.accounts["twitch"].values() if a.username == login.lower()), None) for login in logins
    ]
    return json({"data": [user_obj(a, token) for a in found if a is not None]}, headers=headers)


def first_arg(request: Request, headers: dict[str, str]) -> int | Response:
    raw = request.query_params.get("first", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        return helix_error(
            400, "Bad Request", 'The parameter "first" was malformed: the value must be between 1 and 100', headers
        )
    return int(raw)


def duration(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{m}m" if m or h else "") + f"{s}s"


def video_obj(acct: Account, item: Item, now: float) -> dict[str, object]:
    return {
        "id": item.id,
        "stream_id": None if item.kind != "archive" else str(int(item.published_at)),
        "user_id": acct.id,
        "user_login": acct.username,
        "user_name": acct.name.replace(" ", ""),
        "title": item.title,
        "description": item.text,
        "created_at": stamp(item.published_at),
        "published_at": stamp(item.published_at),
        "url": f"https://www.twitch.tv/videos/{item.id}",
        "thumbnail_url": f"https://static-cdn.jtvnw.net/cf_vods/{item.id}/thumb/thumb0-%{{width}}x%{{height}}.jpg",
        "viewable": "public",
        "view_count": item.metrics(now)["views"],
        "language": "en",
        "type": item.kind,
        "duration": duration(item.duration),
        "muted_segments": None,
    }


async def videos(request: Request) -> Response:
    _token, headers, err = await guard(request)
    if err:
        return err
    sandbox = sandbox_of(request)
    q = request.query_params
    first = first_arg(request, headers)
    if isinstance(first, Response):
        return first
    now = sandbox.now()
    if q.get("id"):
        found = [sandbox.world.find_item("twitch", i) for i in q.getlist("id")]
        rows = [
            video_obj(sandbox.world.accounts["twitch"][it.account_id], it, now)
            for it in found
            if it is not None and it.published_at <= now
        ]
        return json({"data": rows, "pagination": {}}, headers=headers)
    acct = sandbox.world.account("twitch", q.get("user_id", ""))
    if acct is None:
        return helix_error(400, "Bad Request", "Missing required parameter: one of id, user_id or game_id", headers)
    kind = q.get("type", "all")
    before = None
    if q.get("after"):
        raw = unb64(q["after"]) or ""
        when, _, last = raw.partition("|")
        before = (float(when), last) if when.replace(".", "", 1).isdigit() else None
    rows_items: list[Item] = []
    more = True
    while more and len(rows_items) < first:  # filter by type page by page, like Helix does server side
        chunk, more = sandbox.world.feed_page(acct, now, before, first)
        if not chunk:
            break
        before = (chunk[-1].published_at, chunk[-1].id)
        rows_items += [it for it in chunk if kind == "all" or it.kind == kind]
    rows_items = rows_items[:first]
    pagination: dict[str, str] = {}
    if rows_items and (more or len(rows_items) == first):
        last_item = rows_items[-1]
        rest, _ = sandbox.world.feed_page(acct, now, (last_item.published_at, last_item.id), 1)
        if rest:
            pagination["cursor"] = b64(f"{last_item.published_at!r}|{last_item.id}")
    return json({"data": [video_obj(acct, it, now) for it in rows_items], "pagination": pagination}, headers=headers)


async def followers(request: Request) -> Response:
    token, headers, err = await guard(request)
    if err:
        return err
    assert token is not None
    sandbox = sandbox_of(request)
    acct = sandbox.world.account("twitch", request.query_params.get("broadcaster_id", ""))
    if acct is None:
        return helix_error(400, "Bad Request", 'Missing required parameter "broadcaster_id"', headers)
    first = first_arg(request, headers)
    if isinstance(first, Response):
        return first
    now = sandbox.now()
    total = acct.followers_at(now, sandbox.world.anchor)
    # without the moderator scope (as the broadcaster or a moderator) only the total is visible
    if FOLLOWERS_SCOPE not in token.scopes or token.account_id != acct.id:
        return json({"total": total, "data": [], "pagination": {}}, headers=headers)
    start = unb64(request.query_params.get("after", "")) or "0"
    offset = int(start) if start.isdigit() else 0
    rows = []
    for n in range(offset, min(total, offset + first)):
        follower = f"{acct.id}{n:07d}"
        rows.append(
            {
                "user_id": follower,
                "user_login": f"viewer{n}",
                "user_name": f"Viewer{n}",
                "followed_at": stamp(now - 3600 * (n + 1) * (1 + frac(follower))),
            }
        )
    pagination = {"cursor": b64(str(offset + first))} if offset + first < total else {}
    return json({"total": total, "data": rows, "pagination": pagination}, headers=headers)


def routes() -> list[BaseRoute]:
    return [
        Mount(
            "/id.twitch.tv",
            routes=[
                Route("/oauth2/authorize", authorize_endpoint(AUTHORIZE), methods=["GET", "POST"]),
                Route("/oauth2/token", token_endpoint, methods=["POST"]),
                Route("/oauth2/validate", validate),
                Route("/oauth2/revoke", revoke, methods=["POST"]),
            ],
        ),
        Mount(
            "/api.twitch.tv",
            routes=[
                Route("/helix/users", users),
                Route("/helix/videos", videos),
                Route("/helix/channels/followers", followers),
            ],
        ),
    ]
