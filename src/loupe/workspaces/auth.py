"""Who is calling, and what they may do.

Two credentials reach every `/v1` operation, both as `Authorization: Bearer …`: a workspace API key (`lp_…`)
and a person's access token (`la_…`, from POST /v1/auth/login; also accepted from the `loupe_access` cookie,
where writes must repeat the session's CSRF token in `X-CSRF-Token`).

**Every operation declares, once, what it needs**: the least role of a person and the scope of a key,
`Depends(requires(Role.member, Scope.write))`, or one of the aliases below (`ReadPrincipal`, `WritePrincipal`,
`AdminPrincipal`, `ConversionsPrincipal`; `PersonCaller` for a person's own routes, which keys cannot call).
The declaration is published in the contract (`x-loupe-access`), and tests walk every operation with every
role and every scope; an operation without one fails them. Each successful write is then recorded in the
audit log, in the transaction of the write.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.addresses import request_address
from loupe.kit.context import ProcessContext
from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import Forbidden, TooManyRequests, Unauthorized
from loupe.kit.hooks import Hook
from loupe.kit.security import KEY_PREFIX
from loupe.people.models import Role
from loupe.people.service import PeopleService
from loupe.people.tokens import csrf_matches, read_access, signing_keys
from loupe.workspaces.models import Scope
from loupe.workspaces.service import WorkspaceService

ACCESS_COOKIE = "loupe_access"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# What a key's scope lets it do besides its own name: `write` covers posting conversions, and every scope
# but `conversions` reads.
IMPLIED: dict[Scope, set[Scope]] = {
    Scope.read: {Scope.read},
    Scope.write: {Scope.write, Scope.read, Scope.conversions},
    Scope.conversions: {Scope.conversions},
    Scope.admin: {Scope.admin, Scope.read},
}

api_key = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A workspace API key: `Authorization: Bearer lp_…`. Scopes: `read`, `write` (campaign data, "
    "conversions), `conversions` (only POST /v1/conversions), `admin` (keys, team, templates, audit log).",
)
access_token = HTTPBearer(
    auto_error=False,
    scheme_name="AccessToken",
    description="A person's access token from POST /v1/auth/login (15 minutes, one workspace): "
    "`Authorization: Bearer la_…`. Its role in the workspace decides what it may do.",
)
# The same access token, obtained by the OAuth 2.0 password grant: what /docs' Authorize button signs in with.
sign_in = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token",
    auto_error=False,
    scheme_name="SignIn",
    description="Sign in with an email and a password (POST /v1/auth/token): the access token it returns "
    "acts in the person's first workspace. At `/docs`, **Authorize** with the demo person's email and password.",
)
access_cookie = APIKeyCookie(
    name=ACCESS_COOKIE,
    auto_error=False,
    scheme_name="AccessCookie",
    description="The access token as the HttpOnly cookie a browser gets from a sign-in with `cookie: true`; "
    f"writes must send the session's CSRF token in `{CSRF_HEADER}`.",
)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="loupe"'}


def signing_keys_of(ctx: ContextDep) -> list[bytes]:
    return signing_keys(ctx.vault.keys)


KeysDep = Annotated[list[bytes], Depends(signing_keys_of)]


@dataclass(frozen=True)
class Caller:
    """Who presented which credential: a key (of one workspace) or a person's session (maybe in one)."""

    workspace_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[Scope] = frozenset()
    person_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    role: Role | None = None


@dataclass(frozen=True)
class Principal:
    """The caller acting in one workspace. Every workspace-scoped query takes its workspace id from here."""

    workspace_id: uuid.UUID
    api_key_id: uuid.UUID | None = None
    scopes: frozenset[Scope] = frozenset()
    person_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    role: Role | None = None
    address: str = field(default="", compare=False)


@dataclass(frozen=True)
class Access:
    """What an operation needs: a person's least role and a key's scope. `role=None`: any signed-in person,
    in a workspace or not; `scope=None`: keys may not call it."""

    role: Role | None
    scope: Scope | None

    def contract(self) -> dict[str, Any]:
        return {"role": self.role.value if self.role else None, "scope": self.scope.value if self.scope else None}

    def refusal(self, caller: Caller) -> str | None:
        """Why the caller may not, or None."""
        if caller.api_key_id is not None:
            if self.scope is None:
                return "API keys cannot call this operation; it needs a person's access token."
            if not any(self.scope in IMPLIED[s] for s in caller.scopes):
                return f"This API key lacks the `{self.scope.value}` scope this operation needs."
            return None
        if self.role is None:
            return None
        if caller.workspace_id is None or caller.role is None:
            return "Your access token is not bound to a workspace: choose one with POST /v1/auth/switch."
        if not caller.role.at_least(self.role):
            return f"Your role `{caller.role.value}` may not do this; it needs `{self.role.value}` or higher."
        return None


# Called after each successful write, in its transaction (the audit log answers it).
write_done: Hook[[AsyncSession, Request, Principal]] = Hook("write_done", required=True)


async def record_write_by(
    session: AsyncSession, request: Request, ctx: ProcessContext, workspace_id: uuid.UUID, person_id: uuid.UUID
) -> None:
    """The audit event of a write a person made outside their token's workspace (creating a workspace,
    accepting an invitation into one): recorded in that workspace."""
    principal = Principal(
        workspace_id=workspace_id, person_id=person_id, address=request_address(request, ctx.settings)
    )
    await write_done(session, request, principal)


async def authenticate(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    keys: KeysDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(api_key)],
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(access_token)],
    _signed_in: Annotated[str | None, Security(sign_in)],
    cookie: Annotated[str | None, Security(access_cookie)],
) -> Caller:
    caller = await _identify(request, session, keys, bearer, cookie)
    await _throttle(ctx, request, caller)
    return caller


async def _throttle(ctx: ProcessContext, request: Request, caller: Caller) -> None:
    """The caller's rate limit (kit.throttle): per API key, or per person whatever their token; a merchant's
    conversions postbacks count against their own, higher limit. Every answer carries the headers."""
    limits = ctx.settings.api_limits
    if not limits.enabled:
        return
    postback = request.method == "POST" and request.url.path == "/v1/conversions" and Scope.conversions in caller.scopes
    policy, limit = ("conversions", limits.conversions) if postback else ("default", limits.default)
    credential = f"key:{caller.api_key_id}" if caller.api_key_id is not None else f"person:{caller.person_id}"
    decision = await ctx.throttle.take(credential, policy, limit)
    if decision is None:
        return
    headers = decision.headers()
    request.state.response_headers = headers  # added to the answer, whatever it is (kit.middleware)
    if not decision.allowed:
        raise TooManyRequests(
            f"This credential is over its limit of {limit.limit} requests in {limit.seconds} seconds; "
            f"retry in {decision.retry_after} seconds.",
            headers={**headers, "Retry-After": str(decision.retry_after)},
        )


async def _identify(
    request: Request,
    session: AsyncSession,
    keys: list[bytes],
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Caller:
    secret = bearer.credentials if bearer is not None else ""
    if not secret and cookie:
        return await _person(session, keys, cookie, request, from_cookie=True)
    if not secret:
        raise Unauthorized(
            "Send an API key or an access token as `Authorization: Bearer <credential>`.", headers=_CHALLENGE
        )
    if secret.startswith(KEY_PREFIX):
        key = await WorkspaceService(session).authenticate(secret)
        if key is None:
            raise Unauthorized("The API key is not valid or was revoked.", headers=_CHALLENGE)
        return Caller(workspace_id=key.workspace_id, api_key_id=key.id, scopes=frozenset(Scope(s) for s in key.scopes))
    return await _person(session, keys, secret, request, from_cookie=False)


async def _person(
    session: AsyncSession, keys: list[bytes], token: str, request: Request, *, from_cookie: bool
) -> Caller:
    claims = read_access(keys, token)
    if claims is None:
        raise Unauthorized("The access token is not valid or expired; refresh it.", headers=_CHALLENGE)
    if from_cookie and request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented or not csrf_matches(keys, claims.session_id, presented):
            raise Forbidden(f"A write authenticated by cookie must send the session's CSRF token in `{CSRF_HEADER}`.")
    role = await PeopleService(session).caller(claims)
    return Caller(workspace_id=claims.workspace_id, person_id=claims.person_id, session_id=claims.session_id, role=role)


async def presents_valid_credential(scope: Any) -> bool:
    """For the body limit, before any body is read: does the request carry a live key or access token?
    Asked only of requests whose body would pass the anonymous limit. The platforms' webhooks pass: their
    credential is a signature of the body itself (checked by their routes, within the JSON limit)."""
    if scope["path"].startswith("/webhooks/"):
        return True
    request = Request(scope)
    authorization = request.headers.get("authorization", "")
    secret = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    secret = secret or request.cookies.get(ACCESS_COOKIE, "")
    if not secret:
        return False
    ctx = request.app.state.ctx
    if secret.startswith(KEY_PREFIX):
        async with ctx.sessionmaker() as session:
            return await WorkspaceService(session).authenticate(secret) is not None
    return read_access(signing_keys(ctx.vault.keys), secret) is not None


CallerDep = Annotated[Caller, Depends(authenticate)]


def requires(role: Role | None, scope: Scope | None) -> Any:
    """`Depends(...)` of an operation that needs `role` (a person) or `scope` (a key), giving its Principal:
    `principal: Annotated[Principal, requires(Role.member, Scope.write)]`. See the module doc."""
    return Depends(_authorizer(Access(role, scope)), scope="function")


def _authorizer(access: Access) -> Callable[..., AsyncIterator[Principal]]:
    async def dependency(
        request: Request, caller: CallerDep, session: SessionDep, ctx: ContextDep
    ) -> AsyncIterator[Principal]:
        refusal = access.refusal(caller)
        if refusal:
            raise Forbidden(refusal)
        if caller.workspace_id is None:  # a person's own operation, outside any workspace
            raise Forbidden("This operation needs a workspace: choose one with POST /v1/auth/switch.")
        principal = Principal(
            workspace_id=caller.workspace_id,
            api_key_id=caller.api_key_id,
            scopes=caller.scopes,
            person_id=caller.person_id,
            session_id=caller.session_id,
            role=caller.role,
            address=request_address(request, ctx.settings),
        )
        yield principal
        if request.method not in SAFE_METHODS:
            await write_done(session, request, principal)

    # Read by the contract (x-loupe-access, kit.openapi) and the tests that walk it.
    dependency.access = access  # type: ignore[attr-defined]
    return dependency


@dataclass(frozen=True)
class SignedIn:
    """A person calling their own operations: who, which session, and the workspace it acts in (maybe none)."""

    person_id: uuid.UUID
    session_id: uuid.UUID
    workspace_id: uuid.UUID | None


async def _person_caller(caller: CallerDep) -> SignedIn:
    if caller.person_id is None or caller.session_id is None:
        raise Forbidden(PERSON.refusal(caller) or "This operation needs a person's access token.")
    return SignedIn(caller.person_id, caller.session_id, caller.workspace_id)


PERSON = Access(role=None, scope=None)
_person_caller.access = PERSON  # type: ignore[attr-defined]

# The declarations, by name. Reads need a viewer or a `read` key; campaign data a member or a `write` key.
ReadPrincipal = Annotated[Principal, requires(Role.viewer, Scope.read)]
WritePrincipal = Annotated[Principal, requires(Role.member, Scope.write)]
ConversionsPrincipal = Annotated[Principal, requires(Role.member, Scope.conversions)]
# Keys, the team, templates and the audit log (reading them too).
AdminPrincipal = Annotated[Principal, requires(Role.admin, Scope.admin)]
OwnerPrincipal = Annotated[Principal, requires(Role.owner, None)]
PersonCaller = Annotated[SignedIn, Depends(_person_caller)]


def acting_for(workspace_id: uuid.UUID) -> Principal:
    """The principal of a public creator page: it acts on one workspace's data, reached through that
    workspace's invite or connect link, never through a credential."""
    return Principal(workspace_id=workspace_id, scopes=frozenset({Scope.read, Scope.write}))
