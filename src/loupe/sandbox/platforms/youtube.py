"""Google OAuth and YouTube Data API v3 (Analytics API v2: youtube_analytics.py)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from ..common import auth_token, b64, basic_auth, json, params, sandbox_of, unb64
from ..oauth import AuthorizeSpec, authorize_endpoint, simple_choices, simple_resolve, with_state
from ..oauth2 import bearer_token, exchange_code, refresh
from ..state import Sandbox
from ..tokens import Token
from ..world import Account, Item, frac

ACCESS_LIFETIME = 3599
DATA_HOSTS = ("www.googleapis.com", "youtube.googleapis.com")
READONLY = "https://www.googleapis.com/auth/youtube.readonly"
ANALYTICS = "https://www.googleapis.com/auth/yt-analytics.readonly"
DATA_SCOPES = {READONLY, "https://www.googleapis.com/auth/youtube", "https://www.googleapis.com/auth/youtube.force-ssl"}
PACIFIC = dt.timezone(dt.timedelta(hours=-8))  # quota days roll over at midnight Pacific (PST)

AUTHORIZE = AuthorizeSpec(
    brand="Google",
    family="google",
    platforms=("youtube",),
    choices=simple_choices("youtube"),
    resolve=simple_resolve("youtube"),
    scope_sep=" ",
    success=lambda q, code: with_state(
        q, {"code": code.value, "scope": " ".join(code.scopes), "authuser": "0", "prompt": "consent"}
    ),
    denied=lambda q: with_state(q, {"error": "access_denied"}),
)


def google_error(code: int, message: str, reason: str, domain: str = "global", status: str = "") -> Response:
    body = {"code": code, "message": message, "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if status:
        body["status"] = status
    return json({"error": body}, status=code)


def oauth_error(error: str, detail: str, status: int = 400) -> Response:
    return json({"error": error, "error_description": detail}, status=status)


async def token_endpoint(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    client_id, secret = basic_auth(request) or (q.get("client_id", ""), q.get("client_secret", ""))
    if sandbox.client_platform(client_id, ("youtube",)) is None:
        return oauth_error("invalid_client", "The OAuth client was not found.", 401)
    if not sandbox.secret_ok("youtube", secret):
        return oauth_error("invalid_client", "Unauthorized", 401)
    grant = q.get("grant_type")
    if grant == "authorization_code":
        code = sandbox.tokens.codes.get(q.get("code", ""))
        offline = bool(code and code.extra.get("access_type") == "offline")  # refresh token only when offline
        out = exchange_code(sandbox, "youtube", q, client_id, ACCESS_LIFETIME, None, want_refresh=offline)
        if out.token is None:
            return oauth_error("invalid_grant", "Bad Request" if "code" in out.detail else out.detail)
    elif grant == "refresh_token":
        out = refresh(sandbox, "youtube", q, client_id, ACCESS_LIFETIME, rotate=False)
        if out.token is None:
            return oauth_error("invalid_grant", "Token has been expired or revoked.")
    else:
        return oauth_error("unsupported_grant_type", "Invalid grant_type: " + str(grant))
    token = out.token
    body: dict[str, object] = {
        "access_token": token.value,
        "expires_in": token.lifetime(),
        "scope": " ".join(token.scopes),
        "token_type": "Bearer",
    }
    if grant == "authorization_code" and token.refresh:
        body["refresh_token"] = token.refresh
    return json(body)


async def revoke(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    if not sandbox.tokens.revoke(q.get("token", "")):
        return oauth_error("invalid_token", "Token expired or revoked")
    return json({})


async def tokeninfo(request: Request) -> Response:
    sandbox = sandbox_of(request)
    token, problem = bearer_token(sandbox, request.query_params.get("access_token"), "youtube")
    if token is None or problem:
        return oauth_error("invalid_token", "Invalid Value")
    return json(
        {
            "azp": token.client_id,
            "aud": token.client_id,
            "scope": " ".join(token.scopes),
            "exp": str(int(token.expires_at or 0)),
            "expires_in": str(token.expires_in(sandbox.now())),
            "access_type": "offline" if token.refresh else "online",
        }
    )


async def guard(request: Request, scopes: set[str], cost: int) -> tuple[Token | None, Response | None]:
    sandbox = sandbox_of(request)
    token, problem = bearer_token(
        sandbox, auth_token(request, "Bearer") or request.query_params.get("access_token"), "youtube"
    )
    if token is None or problem:
        return None, google_error(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access "
            "token, login cookie or other valid authentication credential.",
            "authError",
            status="UNAUTHENTICATED",
        )
    if not scopes & set(token.scopes):
        return None, google_error(
            403,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
            status="PERMISSION_DENIED",
        )
    fault = await sandbox.call_fault("youtube", [token.account_id])
    if fault and fault.fault == "server_error":
        return None, google_error(503, "The service is currently unavailable.", "backendError")
    if fault and fault.fault == "rate_limited":
        return None, google_error(
            429,
            "The request cannot be completed because you have exceeded your quota.",
            "rateLimitExceeded",
            domain="youtube.quota",
            status="RESOURCE_EXHAUSTED",
        )
    if cost:
        day = dt.datetime.fromtimestamp(sandbox.now(), PACIFIC).date().isoformat()
        key = ("youtube-quota", token.client_id, day)
        used = sandbox.meters.counters.get(key, 0)
        exhausted = fault is not None and fault.fault == "quota_exhausted"  # the only fault left here
        if exhausted or used + cost > sandbox.limits.youtube_units_per_day:
            return None, google_error(
                403,
                "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "quotaExceeded",
                domain="youtube.quota",
            )
        sandbox.meters.counters[key] = used + cost
    return token, None


def rfc3339(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def thumbs(key: str) -> dict[str, dict[str, object]]:
    return {
        n: {"url": f"https://i.ytimg.com/vi/{key}/{n}.jpg", "width": w, "height": h}
        for n, w, h in (("default", 120, 90), ("medium", 320, 180), ("high", 480, 360))
    }


def listing(kind: str, items: list[dict], total: int, per_page: int, next_token: str | None = None) -> dict:
    body: dict[str, object] = {"kind": f"youtube#{kind}ListResponse", "etag": b64(f"{kind}{total}")[:27]}
    if next_token:
        body["nextPageToken"] = next_token
    body.update(pageInfo={"totalResults": total, "resultsPerPage": per_page}, items=items)
    return body


def part_of(request: Request) -> set[str] | None:
    part = request.query_params.get("part")
    return {p.strip() for p in part.split(",")} if part else None


def missing_part() -> Response:
    return google_error(400, "No filter selected. Expected one of: id, mine, ...", "missingRequiredParameter")


def channel(sandbox: Sandbox, acct: Account, parts: set[str]) -> dict[str, object]:
    now = sandbox.now()
    feed, _ = sandbox.world.feed_page(acct, now, None, 10_000)
    out: dict[str, object] = {"kind": "youtube#channel", "etag": b64(acct.id)[:27], "id": acct.id}
    if "snippet" in parts:
        out["snippet"] = {
            "title": acct.name,
            "description": "Vlogs: crème brûlée, São Paulo, Zürich.",
            "customUrl": f"@{acct.username}",
            "publishedAt": rfc3339(acct.created_at),
            "thumbnails": thumbs(acct.id),
            "country": acct.audience.countries[0][0],
        }
    if "contentDetails" in parts:
        out["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": acct.secondary}}
    if "statistics" in parts:
        # the Data API serialises every count as a string
        out["statistics"] = {
            "viewCount": str(sum(it.metrics(now)["views"] for it in feed)),
            "subscriberCount": str(acct.followers_at(now, sandbox.world.anchor)),
            "hiddenSubscriberCount": False,
            "videoCount": str(len(feed)),
        }
    return out


async def channels(request: Request) -> Response:
    token, err = await guard(request, DATA_SCOPES, 1)
    if err:
        return err
    assert token is not None
    parts = part_of(request)
    if parts is None:
        return missing_part()
    sandbox = sandbox_of(request)
    q = request.query_params
    if q.get("mine") == "true":
        accts = [sandbox.world.account("youtube", token.account_id)]
    else:
        accts = [sandbox.world.account("youtube", i) for i in q.get("id", "").split(",") if i]
    rows = [channel(sandbox, a, parts) for a in accts if a is not None and a.has_channel]
    return json(listing("channel", rows, len(rows), 5))


def page_args(request: Request, default: int = 5) -> tuple[int, int] | Response:
    raw = request.query_params.get("maxResults", str(default))
    if not raw.isdigit() or int(raw) > 50:
        return google_error(400, f"Invalid value '{raw}'. Values must be within the range: [0, 50]", "invalidParameter")
    token = request.query_params.get("pageToken")
    start = unb64(token) if token else "0"
    if start is None or not start.isdigit():
        return google_error(400, "The request specifies an invalid page token.", "invalidPageToken")
    return int(raw), int(start)


async def playlist_items(request: Request) -> Response:
    _token, err = await guard(request, DATA_SCOPES, 1)
    if err:
        return err
    parts, paging = part_of(request), page_args(request)
    if parts is None:
        return missing_part()
    if isinstance(paging, Response):
        return paging
    per_page, start = paging
    sandbox = sandbox_of(request)
    playlist = request.query_params.get("playlistId", "")
    acct = sandbox.world.account("youtube", "UC" + playlist[2:]) if playlist.startswith("UU") else None
    if acct is None or not acct.has_channel:
        return google_error(
            404,
            "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.",
            "playlistNotFound",
            domain="youtube.playlistItem",
        )
    now = sandbox.now()
    items, _ = sandbox.world.feed_page(acct, now, None, start + per_page + 1)
    total = sandbox.world.feed_count(acct, now)
    rows = []
    for pos, item in enumerate(items[start : start + per_page], start=start):
        row: dict[str, object] = {
            "kind": "youtube#playlistItem",
            "etag": b64(item.id)[:27],
            "id": b64(playlist + item.id),
        }
        if "snippet" in parts:
            row["snippet"] = {
                "publishedAt": rfc3339(item.published_at),
                "channelId": acct.id,
                "title": item.title,
                "description": item.text,
                "thumbnails": thumbs(item.id),
                "channelTitle": acct.name,
                "playlistId": playlist,
                "position": pos,
                "resourceId": {"kind": "youtube#video", "videoId": item.id},
            }
        if "contentDetails" in parts:
            row["contentDetails"] = {"videoId": item.id, "videoPublishedAt": rfc3339(item.published_at)}
        rows.append(row)
    next_token = b64(str(start + per_page)) if start + per_page < total else None
    return json(listing("playlistItem", rows, total, per_page, next_token))


async def playlists(request: Request) -> Response:
    token, err = await guard(request, DATA_SCOPES, 1)
    if err:
        return err
    assert token is not None
    paging = page_args(request)
    if isinstance(paging, Response):
        return paging
    acct = sandbox_of(request).world.account("youtube", token.account_id)
    count = int(9 * frac(token.account_id, "playlists")) if acct and acct.has_channel else 0
    rows = [
        {
            "kind": "youtube#playlist",
            "etag": b64(f"{token.account_id}{n}")[:27],
            "id": f"PL{token.account_id[2:]}{n:02d}",
        }
        for n in range(count)
    ][: paging[0]]
    return json(listing("playlist", rows, count, paging[0]))


def duration(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s or not (h or m) else "")


def video(sandbox: Sandbox, acct: Account, item: Item, parts: set[str]) -> dict[str, object]:
    m = item.metrics(sandbox.now())
    out: dict[str, object] = {"kind": "youtube#video", "etag": b64(item.id)[:27], "id": item.id}
    if "snippet" in parts:
        out["snippet"] = {
            "publishedAt": rfc3339(item.published_at),
            "channelId": acct.id,
            "title": item.title,
            "description": item.text,
            "thumbnails": thumbs(item.id),
            "channelTitle": acct.name,
            "tags": [t.lstrip("#") for t in item.text.split() if t.startswith("#")],
            "categoryId": "22",
            "liveBroadcastContent": "none",
        }
    if "contentDetails" in parts:
        out["contentDetails"] = {
            "duration": duration(item.duration),
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
            "licensedContent": False,
            "projection": "rectangular",
        }
    if "statistics" in parts:
        out["statistics"] = {
            "viewCount": str(m["views"]),
            "likeCount": str(m["likes"]),
            "favoriteCount": "0",
            "commentCount": str(m["comments"]),
        }
    return out


async def videos(request: Request) -> Response:
    _token, err = await guard(request, DATA_SCOPES, 1)
    if err:
        return err
    parts = part_of(request)
    if parts is None:
        return missing_part()
    ids = [i for i in request.query_params.get("id", "").split(",") if i]
    if len(ids) > 50:
        return google_error(400, "The request specifies too many video IDs (at most 50).", "invalidParameter")
    sandbox = sandbox_of(request)
    rows = []
    for video_id in ids:  # unknown ids are silently left out, as YouTube does
        item = sandbox.world.find_item("youtube", video_id)
        acct = sandbox.world.account("youtube", item.account_id) if item else None
        if item and acct and item.published_at <= sandbox.now():
            rows.append(video(sandbox, acct, item, parts))
    return json(listing("video", rows, len(rows), len(rows)))


def routes() -> list[BaseRoute]:
    return [
        Mount(
            "/accounts.google.com",
            routes=[Route("/o/oauth2/v2/auth", authorize_endpoint(AUTHORIZE), methods=["GET", "POST"])],
        ),
        Mount(
            "/oauth2.googleapis.com",
            routes=[
                Route("/token", token_endpoint, methods=["POST"]),
                Route("/revoke", revoke, methods=["POST"]),
                Route("/tokeninfo", tokeninfo, methods=["GET", "POST"]),
            ],
        ),
        # The Data API answers on both hosts: www.googleapis.com (the documented one) and
        # youtube.googleapis.com (the rootUrl of google-api-python-client's bundled discovery document).
        *(
            Mount(
                f"/{host}",
                routes=[
                    Route("/youtube/v3/channels", channels),
                    Route("/youtube/v3/playlistItems", playlist_items),
                    Route("/youtube/v3/playlists", playlists),
                    Route("/youtube/v3/videos", videos),
                ],
            )
            for host in DATA_HOSTS
        ),
    ]
