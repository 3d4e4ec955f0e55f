"""Meta OAuth: Facebook Login dialog, Instagram Login, code/long-lived/refresh exchanges, debug_token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..common import json, params, sandbox_of
from ..oauth import AuthorizeSpec, Choice, Grant, with_state
from ..state import Sandbox
from ..tokens import Token
from ..world import Creator
from .meta_common import GraphError, graph_error, token_error

META_APPS = ("instagram", "facebook")
LONG_LIVED = 5_183_944  # what Meta actually answers for "60 days"
SHORT_FB = 5_400
SHORT_IG = 3_600
DATA_ACCESS_DAYS = 90


# ----- Facebook Login dialog -----
ALL_PAGES = "All my Pages and Instagram accounts"


def fb_choices(sandbox: Sandbox, creator: Creator) -> list[Choice]:
    pages = creator.accounts.get("facebook", [])
    linked = sum(1 for p in pages if p.ig_id)
    # "Opt in to all current and future Pages": the one-click grant most creators pick on the real dialog
    out = [Choice(creator.fb_user_id, ALL_PAGES, f"{len(pages)} Page(s), {linked} with Instagram")] if pages else []
    out += [
        Choice(
            a.id,
            f"Instagram @{a.username}",
            f"{a.account_type.lower()}, " + ("linked to a Page" if a.page_id else "no linked Page"),
        )
        for a in creator.accounts.get("instagram", [])
    ]
    out += [
        Choice(p.id, f"Page: {p.name}", "with Instagram" if p.ig_id else "no Instagram account")
        for p in creator.accounts.get("facebook", [])
    ]
    return out


def all_targets(creator: Creator) -> list[str]:
    pages = creator.accounts.get("facebook", [])
    return [p.id for p in pages] + [p.ig_id for p in pages if p.ig_id]


def fb_resolve(sandbox: Sandbox, account_id: str, app: str = "facebook") -> Grant | None:
    world = sandbox.world
    ig = world.account("instagram", account_id)
    if ig is not None:
        creator = world.creator_of(ig)
        # A professional account linked to a Page grants that Page; otherwise the dialog shows the
        # person's Pages as they are, which is how "no linked Page" / "personal account" surface.
        targets = [ig.page_id, ig.id] if ig.page_id else all_targets(creator)
        return Grant("instagram", ig.id, creator.fb_user_id, targets)
    page = world.account("facebook", account_id)
    if page is not None:
        return Grant("facebook", page.id, page.fb_user_id or "", [page.id] + ([page.ig_id] if page.ig_id else []))
    fb_user = world.fb_users.get(account_id)
    if fb_user is not None:
        pages = fb_user.accounts.get("facebook", [])
        targets = all_targets(fb_user)
        if app == "instagram":  # the Instagram app reads the IG accounts behind every granted Page
            first_ig = next((p.ig_id for p in pages if p.ig_id), None)
            return Grant("instagram", first_ig or fb_user.fb_user_id, fb_user.fb_user_id, targets)
        return Grant("facebook", pages[0].id if pages else fb_user.fb_user_id, fb_user.fb_user_id, targets)
    return None


FACEBOOK_DIALOG = AuthorizeSpec(
    brand="Facebook",
    family="fb",
    platforms=META_APPS,
    choices=fb_choices,
    resolve=fb_resolve,
    success=lambda q, code: with_state(q, {"code": code.value}),
    denied=lambda q: with_state(
        q,
        {
            "error": "access_denied",
            "error_code": "200",
            "error_description": "Permissions error",
            "error_reason": "user_denied",
        },
    ),
    scope_sep=",",
    fragment="_=_",
)


def ig_choices(sandbox: Sandbox, creator: Creator) -> list[Choice]:
    return [Choice(a.id, f"@{a.username}", a.account_type.lower()) for a in creator.accounts.get("instagram", [])]


def ig_resolve(sandbox: Sandbox, account_id: str, app: str = "instagram") -> Grant | None:
    ig = sandbox.world.account("instagram", account_id)
    return Grant("instagram", ig.id, ig.id) if ig else None


INSTAGRAM_DIALOG = AuthorizeSpec(
    brand="Instagram",
    family="ig",
    platforms=("instagram",),
    choices=ig_choices,
    resolve=ig_resolve,
    success=lambda q, code: with_state(q, {"code": code.value}),
    denied=lambda q: with_state(
        q,
        {"error": "access_denied", "error_reason": "user_denied", "error_description": "The user denied your request"},
    ),
    scope_sep=",",
    fragment="_",
    code_lifetime=3600,
)


# ----- graph.facebook.com/oauth/access_token -----
def _client(sandbox: Sandbox, q: dict[str, str]) -> str:
    platform = sandbox.client_platform(q.get("client_id"), META_APPS)
    if platform is None:
        raise GraphError(101, "Error validating application. Invalid application ID.")
    if not q.get("client_secret") or not sandbox.secret_ok(platform, q.get("client_secret")):
        raise GraphError(1, "Error validating client secret.", status=400)
    return platform


def usable(sandbox: Sandbox, value: str | None, family: str) -> Token:
    token = sandbox.tokens.get(value)
    if token is None or token.family != family:
        raise token_error("invalid", None, sandbox.now())
    problem = sandbox.token_problem(token)
    if problem:
        raise token_error(problem, token, sandbox.now())
    return token


def _issue_from(
    sandbox: Sandbox, base: Token | None, code_fields: dict, lifetime: int, long_lived: bool, family: str = "fb"
) -> Token:
    src = base.__dict__ if base is not None else code_fields
    return sandbox.tokens.issue(
        platform=src["platform"],
        family=family,
        account_id=src["account_id"],
        user_id=src["user_id"],
        scopes=src["scopes"],
        client_id=src["client_id"],
        now=sandbox.now(),
        lifetime=lifetime,
        targets=src["targets"],
        long_lived=long_lived,
        data_access_days=DATA_ACCESS_DAYS,
    )


async def fb_access_token(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    try:
        _client(sandbox, q)
        if q.get("grant_type") == "fb_exchange_token":
            short = usable(sandbox, q.get("fb_exchange_token"), "fb")
            if short.kind != "access":
                raise GraphError(100, "(#100) fb_exchange_token must be a user access token")
            token = _issue_from(sandbox, short, {}, LONG_LIVED, long_lived=True)
        else:
            code, reason = sandbox.tokens.take_code(q.get("code", ""), sandbox.now())
            if code is None or code.family != "fb":
                raise {
                    "used": GraphError(100, "This authorization code has been used.", 36009),
                    "expired": GraphError(100, "This authorization code has expired.", 36007),
                }.get(reason, GraphError(100, "Invalid verification code format.", 36008))
            if code.redirect_uri != q.get("redirect_uri") or code.client_id != q.get("client_id"):
                raise GraphError(
                    100,
                    "Error validating verification code. Please make sure your redirect_uri is "
                    "identical to the one you used in the OAuth dialog request",
                    36008,
                )
            token = _issue_from(sandbox, None, code.__dict__, SHORT_FB, long_lived=False)
    except GraphError as err:
        return graph_error(err)
    return json({"access_token": token.value, "token_type": "bearer", "expires_in": token.lifetime()})


async def debug_token(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = dict(request.query_params)
    app_token = q.get("access_token", "")
    app_id, _, secret = app_token.partition("|")
    caller = sandbox.tokens.get(app_token)
    platform = sandbox.client_platform(app_id, META_APPS)
    if not ((platform and sandbox.secret_ok(platform, secret)) or (caller and caller.family == "fb")):
        return graph_error(GraphError(190, "Invalid OAuth access token - Cannot parse access token"))
    token = sandbox.tokens.get(q.get("input_token"))
    if token is None or token.family != "fb":
        return json(
            {
                "data": {
                    "error": {"code": 190, "message": "Invalid OAuth access token."},
                    "is_valid": False,
                    "scopes": [],
                }
            }
        )
    problem = sandbox.token_problem(token)
    data: dict[str, object] = {
        "app_id": token.client_id,
        "type": "PAGE" if token.kind == "page" else "USER",
        "application": "Loupe (sandbox)",
        "data_access_expires_at": int(token.data_access_expires_at or 0),
        "expires_at": int(token.expires_at or 0),
        "is_valid": problem is None,
        "issued_at": int(token.issued_at),
        "scopes": token.scopes,
        "granular_scopes": [
            {"scope": s, "target_ids": token.targets} for s in token.scopes if s.startswith(("pages_", "instagram_"))
        ],
        "user_id": token.user_id,
    }
    if token.kind == "page":
        data["profile_id"] = token.account_id
    if problem:
        err = token_error(problem, token, sandbox.now())
        data["error"] = {"code": err.code, "message": err.message, "subcode": err.subcode}
    return json({"data": data})


# ----- Instagram Login -----
def ig_error(message: str, status: int = 400) -> Response:
    return json({"error_type": "OAuthException", "code": status, "error_message": message}, status=status)


async def ig_code_exchange(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = await params(request)
    if sandbox.client_platform(q.get("client_id"), ("instagram",)) is None:
        return ig_error("Invalid platform app")
    if not sandbox.secret_ok("instagram", q.get("client_secret")):
        return ig_error("Error validating client secret.")
    if q.get("grant_type") != "authorization_code":
        return ig_error("Invalid grant_type: only authorization_code is supported")
    code, _ = sandbox.tokens.take_code(q.get("code", ""), sandbox.now())
    if code is None or code.family != "ig":
        return ig_error("Matching code was not found or was already used")
    if code.redirect_uri != q.get("redirect_uri"):
        return ig_error(
            "Error validating verification code. Please make sure your redirect_uri is identical to "
            "the one you used in the OAuth dialog request"
        )
    token = _issue_from(sandbox, None, code.__dict__, SHORT_IG, long_lived=False, family="ig")
    return json(
        {"data": [{"access_token": token.value, "user_id": token.account_id, "permissions": ",".join(token.scopes)}]}
    )


async def ig_exchange(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = dict(request.query_params)
    try:
        if q.get("grant_type") != "ig_exchange_token":
            raise GraphError(100, "(#100) grant_type must be ig_exchange_token")
        if not sandbox.secret_ok("instagram", q.get("client_secret")) or not q.get("client_secret"):
            raise GraphError(1, "Error validating client secret.", status=400)
        short = usable(sandbox, q.get("access_token"), "ig")
        if short.long_lived:
            raise GraphError(100, "(#100) Only short-lived access tokens can be exchanged")
        token = _issue_from(sandbox, short, {}, LONG_LIVED, long_lived=True, family="ig")
    except GraphError as err:
        return graph_error(err)
    return json({"access_token": token.value, "token_type": "bearer", "expires_in": token.lifetime()})


async def ig_refresh(request: Request) -> Response:
    sandbox = sandbox_of(request)
    q = dict(request.query_params)
    try:
        if q.get("grant_type") != "ig_refresh_token":
            raise GraphError(100, "(#100) grant_type must be ig_refresh_token")
        old = usable(sandbox, q.get("access_token"), "ig")  # an expired token is refused here (190/463)
        if not old.long_lived:
            raise GraphError(100, "(#100) Only long-lived access tokens can be refreshed")
        if sandbox.now() - old.issued_at < 86400:
            raise GraphError(100, "(#100) The access token must be at least 24 hours old to be refreshed")
        token = _issue_from(sandbox, old, {}, LONG_LIVED, long_lived=True, family="ig")
    except GraphError as err:
        return graph_error(err)
    return json({"access_token": token.value, "token_type": "bearer", "expires_in": token.lifetime()})
