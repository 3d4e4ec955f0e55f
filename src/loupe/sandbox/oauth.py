"""Authorize pages shared by every platform: pick an account, approve or deny, get redirected.

Each platform describes its dialect with an `AuthorizeSpec`; the flow itself (validation, HTML page,
single-use code bound to client, redirect URI, scopes and PKCE challenge) is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .common import params, redirect, sandbox_of
from .state import Sandbox
from .tokens import AuthCode
from .world import Account, Creator

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@dataclass
class Choice:
    id: str
    label: str
    note: str = ""


@dataclass
class Grant:
    """What the creator approved: the account, the identity behind it and (Meta) the granted targets."""

    platform: str
    account_id: str
    user_id: str
    targets: list[str] = field(default_factory=list)


@dataclass
class AuthorizeSpec:
    brand: str
    family: str
    platforms: tuple[str, ...]  # whose app credentials are accepted
    choices: Callable[[Sandbox, Creator], list[Choice]]
    resolve: Callable[[Sandbox, str, str], Grant | None]  # (sandbox, picked id, platform of the asking app)
    success: Callable[[dict[str, str], AuthCode], dict[str, str]]
    denied: Callable[[dict[str, str]], dict[str, str]]
    client_param: str = "client_id"
    scope_sep: str = " "
    fragment: str | None = None
    pkce_required: bool = False
    code_lifetime: float = 600
    ignore_scopes: bool = False  # Meta dialogs list permissions, they are not checkboxes we track


def _creator(sandbox: Sandbox, hint: str | None) -> Creator:
    return (sandbox.world.creator(hint) if hint else None) or sandbox.world.creators[0]


def _page(
    request: Request, spec: AuthorizeSpec, q: dict[str, str], error: str | None = None, status: int = 200
) -> Response:
    sandbox = sandbox_of(request)
    creator = _creator(sandbox, q.get("login_hint") or q.get("creator"))
    scopes = [s for s in q.get("scope", "").replace(",", " ").split() if s]
    path = request.url.path
    creators = [{"id": c.id, "href": f"{path}?{urlencode({**q, 'login_hint': c.id})}"} for c in sandbox.world.creators]
    context = {
        "brand": spec.brand,
        "client_id": q.get(spec.client_param, ""),
        "creator": creator,
        "accounts": spec.choices(sandbox, creator),
        "scopes": scopes,
        "error": error,
        "action": f"{path}?{request.url.query}" if request.url.query else path,
        "creators": creators,
    }
    return templates.TemplateResponse(request, "authorize.html", context, status_code=status)


def _validate(sandbox: Sandbox, spec: AuthorizeSpec, q: dict[str, str]) -> str | None:
    client_id = q.get(spec.client_param)
    if sandbox.client_platform(client_id, spec.platforms) is None:
        return f"Invalid {spec.client_param}: the app {client_id!r} does not exist."
    uri = q.get("redirect_uri", "")
    if not uri.startswith(("http://", "https://")):
        return "Invalid redirect_uri: it must be an absolute http(s) URL."
    if q.get("response_type", "code") != "code":
        return "Unsupported response_type; only 'code' is supported."
    if spec.pkce_required and (
        not q.get("code_challenge") or q.get("code_challenge_method", "plain") not in {"S256", "plain"}
    ):
        return "Missing or invalid code_challenge (PKCE is required)."
    return None


def authorize_endpoint(spec: AuthorizeSpec) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request)
        q = dict(request.query_params)
        problem = _validate(sandbox, spec, q)
        if problem:
            return _page(request, spec, q, error=problem, status=400)
        if request.method == "GET":
            return _page(request, spec, q)
        form = await params(request)
        q_with_form = {**q, "creator": form.get("creator", "")}
        if form.get("decision") != "approve":
            return redirect(q["redirect_uri"], spec.denied(q), spec.fragment)
        app = sandbox.client_platform(q[spec.client_param], spec.platforms) or spec.platforms[0]
        grant = spec.resolve(sandbox, form.get("account", ""), app)
        if grant is None:
            return _page(request, spec, q_with_form, error="Choose one of your accounts.", status=400)
        requested = [s for s in q.get("scope", "").replace(",", " ").split() if s]
        if "scopes_present" in form and not spec.ignore_scopes:
            picked = set((await request.form()).getlist("scope"))
            granted = [s for s in requested if s in picked]
        else:
            granted = requested
        now = sandbox.now()
        client_id = q[spec.client_param]
        code = sandbox.tokens.new_code(
            platform=grant.platform,
            family=spec.family,
            account_id=grant.account_id,
            user_id=grant.user_id,
            targets=grant.targets,
            scopes=granted,
            client_id=client_id,
            redirect_uri=q["redirect_uri"],
            issued_at=now,
            expires_at=now + spec.code_lifetime,
            code_challenge=q.get("code_challenge"),
            challenge_method=q.get("code_challenge_method", "plain") if q.get("code_challenge") else None,
            extra={k: q[k] for k in ("access_type", "prompt") if k in q},
        )
        return redirect(q["redirect_uri"], spec.success(q, code), spec.fragment)

    return endpoint


def simple_choices(platform: str) -> Callable[[Sandbox, Creator], list[Choice]]:
    def choices(sandbox: Sandbox, creator: Creator) -> list[Choice]:
        return [Choice(a.id, f"@{a.username}", a.name) for a in creator.accounts.get(platform, [])]

    return choices


def simple_resolve(platform: str) -> Callable[[Sandbox, str, str], Grant | None]:
    def resolve(sandbox: Sandbox, account_id: str, app: str) -> Grant | None:
        acct: Account | None = sandbox.world.account(platform, account_id)
        return Grant(platform, acct.id, acct.id) if acct else None

    return resolve


def with_state(q: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    return {**values, **({"state": q["state"]} if "state" in q else {})}
