"""X (Twitter) API v2: OAuth 2.0 with mandatory PKCE, users and user tweets, 15-minute rate windows."""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..common import auth_token, b64, basic_auth, json, params, sandbox_of, unb64
from ..oauth import AuthorizeSpec, authorize_endpoint, simple_choices, simple_resolve, with_state
from ..oauth2 import Outcome, bearer_token, exchange_code, refresh
from ..state import Sandbox
from ..tokens import Token
from ..world import Account, Item, frac

ACCESS_LIFETIME = 7200
WWW_HOSTS = ("x.com", "twitter.com")
API_HOSTS = ("api.x.com", "api.twitter.com")
WINDOW = 900
USER_FIELDS = {
    "created_at",
    "description",
    "profile_image_url",
    "public_metrics",
    "verified",
    "protected",
    "location",
    "url",
    "pinned_tweet_id",
    "entities",
    "verified_type",
}
TWEET_FIELDS = {
    "created_at",
    "public_metrics",
    "entities",
    "author_id",
    "lang",
    "conversation_id",
    "possibly_sensitive",
    "source",
    "reply_settings",
    "edit_history_tweet_ids",
}
PROBLEM = "application/problem+json"

AUTHORIZE = AuthorizeSpec(
    brand="X",
    family="x",
    platforms=("twitter",),
    choices=simple_choices("twitter"),
    resolve=simple_resolve("twitter"),
    scope_sep=" ",
    pkce_required=True,
    success=lambda q, code: with_state(q, {"code": code.value}),
    denied=lambda q: with_state(q, {"error": "access_denied"}),
)


def problem(status: int, title: str, headers: dict[str, str] | None = None, detail: str | None = None) -> Response:
    return json(
        {"title": title, "type": "about:blank", "status": status, "detail": detail or title},
        status=status,
        headers=headers,
        media_type=PROBLEM,
    )


def invalid(parameter: str, value: str, message: str) -> Response:
    return json(
        {
            "errors": [{"parameters": {parameter: [value]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
        status=400,
        media_type=PROBLEM,
    )


def oauth_error(error: str, detail: str, status: int = 400) -> Response:
    return json({"error": error, "error_description": detail}, status=status)


def client_of(sandbox: Sandbox, request: Request, q: dict[str, str]) -> tuple[str | None, Response | None]:
    """Confidential clients must authenticate with HTTP Basic; public clients send client_id only."""
    creds = basic_auth(request)
    client_id = creds[0] if creds else q.get("client_id", "")
    if sandbox.client_platform(client_id, ("twitter",)) is None:
        return None, oauth_error("invalid_client", "Missing valid authorization header", 401)
    confidential = sandbox.credentials["twitter"][1] != ""
    if confidential and (creds is None or not sandbox.secret_ok("twitter", creds[1])):
        return None, oauth_error("unauthorized_client", "Missing valid authorization header", 401)
    return client_id, None


async def token_endpoint(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    client_id, err = client_of(sandbox, request, q)
    if err:
        return err
    assert client_id is not None
    grant = q.get("grant_type")
    if grant == "authorization_code":
        if not q.get("code_verifier"):
            return oauth_error("invalid_request", "Missing required parameter [code_verifier].")
        code = sandbox.tokens.codes.get(q.get("code", ""))
        offline = bool(code and "offline.access" in code.scopes)  # refresh token only with offline.access
        out: Outcome = exchange_code(sandbox, "twitter", q, client_id, ACCESS_LIFETIME, None, want_refresh=offline)
        if out.token is None:
            return oauth_error("invalid_request", "Value passed for the authorization code was invalid.")
    elif grant == "refresh_token":
        out = refresh(sandbox, "twitter", q, client_id, ACCESS_LIFETIME, rotate=True)
        if out.token is None:
            return oauth_error("invalid_request", "Value passed for the token was invalid.")
    else:
        return oauth_error("invalid_request", "Value passed for the grant type was invalid.")
    token = out.token
    body: dict[str, object] = {
        "token_type": "bearer",
        "expires_in": token.lifetime(),
        "access_token": token.value,
        "scope": " ".join(token.scopes),
    }
    if token.refresh:
        body["refresh_token"] = token.refresh
    return json(body)


async def revoke(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    _client, err = client_of(sandbox, request, q)
    if err:
        return err
    return json({"revoked": sandbox.tokens.revoke(q.get("token", ""))})


async def guard(request: Request, endpoint: str) -> tuple[Token | None, dict[str, str], Response | None]:
    sandbox = sandbox_of(request)
    token, trouble = bearer_token(sandbox, auth_token(request, "Bearer"), "twitter")
    if token is None or trouble:
        return None, {}, problem(401, "Unauthorized")
    if not {"tweet.read", "users.read"} <= set(token.scopes):
        return None, {}, problem(403, "Forbidden", detail="The token lacks the tweet.read and users.read scopes.")
    now = sandbox.now()
    window = sandbox.meters.window(("x", token.user_id, endpoint), WINDOW)
    limit = sandbox.limits.x_per_15min.get(endpoint, 900)
    fault = await sandbox.call_fault("twitter", [token.account_id])
    used = window.count(now)
    if fault and fault.fault in {"rate_limited", "quota_exhausted"}:
        used = limit
    allowed = used < limit
    if allowed:
        used = window.hit(now)
    reset = int(window.reset_at(now)) if window.hits else int(now + WINDOW)
    headers = {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(max(0, limit - used)),
        "x-rate-limit-reset": str(reset),
    }
    if not allowed:
        return None, headers, problem(429, "Too Many Requests", headers)
    if fault and fault.fault == "server_error":
        return None, headers, problem(503, "Service Unavailable", headers)
    return token, headers, None


def user_obj(sandbox: Sandbox, acct: Account, fields: set[str]) -> dict[str, object]:
    now = sandbox.now()
    available: dict[str, object] = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(acct.created_at)),
        "description": "Café au lait & crème brûlée · São Paulo · #HappySpring",
        "profile_image_url": f"https://pbs.twimg.com/profile_images/{acct.id}/normal.jpg",
        "public_metrics": {
            "followers_count": acct.followers_at(now, sandbox.world.anchor),
            "following_count": acct.following,
            "tweet_count": sandbox.world.feed_count(acct, now),
            "listed_count": acct.followers // 900,
            "like_count": acct.followers // 3,
        },
        "verified": acct.followers > 500_000,
        "verified_type": "blue" if acct.followers > 500_000 else "none",
        "protected": False,
        "location": acct.audience.cities[0][0],
        "url": "",
    }
    out: dict[str, object] = {"id": acct.id, "name": acct.name, "username": acct.username}
    out.update({f: available[f] for f in fields if f in available})
    return out


def entities(sandbox: Sandbox, text: str) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for m in re.finditer(r"#(\w+)", text):
        out.setdefault("hashtags", []).append({"start": m.start(), "end": m.end(), "tag": m.group(1)})
    for m in re.finditer(r"@(\w+)", text):
        known = next((a.id for a in sandbox.world.accounts["twitter"].values() if a.username == m.group(1)), None)
        out.setdefault("mentions", []).append(
            {
                "start": m.start(),
                "end": m.end(),
                "username": m.group(1),
                "id": known or str(int(frac("x-user", m.group(1)) * 10**18)),
            }
        )
    return out


def tweet(sandbox: Sandbox, item: Item, fields: set[str]) -> dict[str, object]:
    m = item.metrics(sandbox.now())
    available: dict[str, object] = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(item.published_at)),
        "public_metrics": {
            "retweet_count": m["shares"],
            "reply_count": m["comments"],
            "like_count": m["likes"],
            "quote_count": m["quotes"],
            "bookmark_count": m["bookmarks"],
            "impression_count": m["views"],
        },
        "entities": entities(sandbox, item.text),
        "author_id": item.account_id,
        "lang": "en",
        "conversation_id": item.id,
        "possibly_sensitive": False,
        "source": "Loupe sandbox",
        "reply_settings": "everyone",
    }
    out: dict[str, object] = {"id": item.id, "text": item.text, "edit_history_tweet_ids": [item.id]}
    out.update({f: available[f] for f in fields if f in available})
    return out


def field_set(request: Request, name: str, allowed: set[str]) -> set[str] | Response:
    fields = {f for f in request.query_params.get(name, "").split(",") if f}
    unknown = fields - allowed
    if unknown:
        bad = sorted(unknown)[0]
        return invalid(
            name, bad, f"The `{name}` query parameter value [{bad}] is not one of [{','.join(sorted(allowed))}]"
        )
    return fields


async def users_me(request: Request) -> Response:
    token, headers, err = await guard(request, "users_me")
    if err:
        return err
    assert token is not None
    fields = field_set(request, "user.fields", USER_FIELDS)
    if isinstance(fields, Response):
        return fields
    sandbox = sandbox_of(request)
    acct = sandbox.world.account("twitter", token.account_id)
    assert acct is not None
    return json({"data": user_obj(sandbox, acct, fields)}, headers=headers)


async def user_by_id(request: Request) -> Response:
    _token, headers, err = await guard(request, "users")
    if err:
        return err
    fields = field_set(request, "user.fields", USER_FIELDS)
    if isinstance(fields, Response):
        return fields
    sandbox = sandbox_of(request)
    key = request.path_params["key"]
    by_name = request.url.path.rsplit("/", 2)[-2] == "username"
    acct = (
        next((a for a in sandbox.world.accounts["twitter"].values() if a.username == key), None)
        if by_name
        else sandbox.world.account("twitter", key)
    )
    if acct is None:
        return json({"errors": [not_found(key, "username" if by_name else "id")]}, headers=headers)
    return json({"data": user_obj(sandbox, acct, fields)}, headers=headers)


def not_found(value: str, parameter: str) -> dict[str, str]:
    return {
        "value": value,
        "detail": f"Could not find user with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    }


def parse_time(raw: str | None) -> float | None:
    if not raw:
        return None
    return time.mktime(time.strptime(raw.replace(".000", "")[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone


async def user_tweets(request: Request) -> Response:
    _token, headers, err = await guard(request, "user_tweets")
    if err:
        return err
    q = request.query_params
    fields = field_set(request, "tweet.fields", TWEET_FIELDS)
    if isinstance(fields, Response):
        return fields
    raw_max = q.get("max_results", "10")
    if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
        return invalid(
            "max_results", raw_max, f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100"
        )
    sandbox = sandbox_of(request)
    user_id = request.path_params["id"]
    acct = sandbox.world.account("twitter", user_id)
    if acct is None:
        return json({"errors": [not_found(user_id, "id")]}, headers=headers)
    before = None
    if q.get("pagination_token"):
        raw = unb64(q["pagination_token"])
        if not raw or "|" not in raw:
            return invalid("pagination_token", q["pagination_token"], "The `pagination_token` is invalid")
        when, _, last_id = raw.partition("|")
        before = (float(when), last_id)
    try:
        since, until = parse_time(q.get("start_time")), parse_time(q.get("end_time"))
    except ValueError:
        return invalid("start_time", q.get("start_time", ""), "Invalid ISO 8601 time")
    if until is not None:
        before = min(before, (until, "")) if before else (until, "")
    items, more = sandbox.world.feed_page(acct, sandbox.now(), before, int(raw_max), since=since)
    if not items:
        return json({"meta": {"result_count": 0}}, headers=headers)
    meta: dict[str, object] = {"result_count": len(items), "newest_id": items[0].id, "oldest_id": items[-1].id}
    if more:
        meta["next_token"] = b64(f"{items[-1].published_at!r}|{items[-1].id}")
    return json({"data": [tweet(sandbox, it, fields) for it in items], "meta": meta}, headers=headers)


async def tweets_lookup(request: Request) -> Response:
    """GET /2/tweets?ids=… (≤ 100) and /2/tweets/{id}: how connectors refresh metrics of known posts."""
    _token, headers, err = await guard(request, "tweets")
    if err:
        return err
    fields = field_set(request, "tweet.fields", TWEET_FIELDS)
    if isinstance(fields, Response):
        return fields
    single = request.path_params.get("id")
    ids = [single] if single else [i for i in request.query_params.get("ids", "").split(",") if i]
    if not 1 <= len(ids) <= 100:
        return invalid("ids", ",".join(ids), "The `ids` query parameter must hold 1 to 100 ids")
    sandbox = sandbox_of(request)
    found, errors = [], []
    for tweet_id in ids:
        item = sandbox.world.find_item("twitter", tweet_id)
        if item is None or item.published_at > sandbox.now():
            errors.append(
                {
                    "value": tweet_id,
                    "detail": f"Could not find tweet with ids: [{tweet_id}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": tweet_id,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            )
        else:
            found.append(tweet(sandbox, item, fields))
    body: dict[str, object] = {}
    if found:
        body["data"] = found[0] if single else found
    if errors:
        body["errors"] = errors  # partial errors ride inside a 200
    return json(body, headers=headers)


def routes() -> list[BaseRoute]:
    # X still answers on the Twitter hosts, which clients such as tweepy call: twitter.com/i/oauth2/authorize
    # and api.twitter.com/2/...; both spellings are served.
    authorize = authorize_endpoint(AUTHORIZE)
    out: list[BaseRoute] = []
    for host in WWW_HOSTS:
        out.append(Mount(f"/{host}", routes=[Route("/i/oauth2/authorize", authorize, methods=["GET", "POST"])]))
    for host in API_HOSTS:
        out.append(
            Mount(
                f"/{host}",
                routes=[
                    Route("/2/oauth2/token", token_endpoint, methods=["POST"]),
                    Route("/2/oauth2/revoke", revoke, methods=["POST"]),
                    Route("/2/users/me", users_me),
                    Route("/2/users/by/username/{key}", user_by_id),
                    Route("/2/users/{id}/tweets", user_tweets),
                    Route("/2/users/{key}", user_by_id),
                    Route("/2/tweets", tweets_lookup),
                    Route("/2/tweets/{id}", tweets_lookup),
                ],
            )
        )
    return out
