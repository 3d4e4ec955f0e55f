"""The public sign-in routes, /v1/auth: no credential, they are how one is obtained."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.audit.service import record_sign_in_event
from loupe.kit.addresses import request_address
from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.kit.deps import ContextDep, JobsDep, SessionDep
from loupe.kit.errors import Unauthorized, problem_responses
from loupe.kit.outbox import Outbox
from loupe.people.limits import SignInLimiter
from loupe.people.service import Client, PeopleService, RefreshReused, Tokens
from loupe.team.cookies import check_csrf, clear_tokens, refresh_token_of, set_tokens
from loupe.team.jobs import FAILED_SIGN_IN_JOB, SIGNUP_JOB
from loupe.team.jobs import JOB as RESET_JOB
from loupe.team.schemas import (
    Accepted,
    LoginRequest,
    PasswordGrant,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    SignupRequest,
    TokenRequest,
    TokenResponse,
)
from loupe.workspaces.auth import KeysDep

router = APIRouter(prefix="/auth", tags=["sign-in"])
SENT = "If the address can receive mail, a message is on its way."


def people(session: SessionDep, keys: list[bytes], ctx: ContextDep, jobs: JobsDep | None = None) -> PeopleService:
    app_url = ctx.settings.app_base_url or ctx.settings.public_base_url
    return PeopleService(session, keys, Outbox(session, jobs), app_url)


def answer(tokens: Tokens, response: Response, cookie: bool) -> TokenResponse:
    if cookie:
        set_tokens(response, tokens)
    return TokenResponse(
        access_token=None if cookie else tokens.access_token,
        refresh_token=None if cookie else tokens.refresh_token,
        expires_in=tokens.expires_in,
        workspace_id=tokens.workspace_id,
        csrf_token=tokens.csrf_token,
    )


@router.post(
    "/signup",
    operation_id="auth_signup",
    summary="Sign up",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(422),
)
async def signup(body: SignupRequest, session: SessionDep, jobs: JobsDep) -> Accepted:
    """Makes an account and emails a link to confirm the address (sign-in works once it is confirmed). The
    answer, and its time, are the same when the email already has an account (that address is told so by email
    instead): the worker looks it up. The password needs 12 characters and not be a common one."""
    password_hash = await PeopleService.signup_hash(str(body.email), body.password)
    # Staged in this request's transaction (`session`), so a Redis outage loses no sign-up.
    jobs.enqueue(SIGNUP_JOB, name=body.name, email=str(body.email), password_hash=password_hash)
    return Accepted(detail=SENT)


@router.post(
    "/verify-email", operation_id="auth_verify_email", summary="Confirm an email", responses=problem_responses(422)
)
async def verify_email(body: TokenRequest, session: SessionDep, keys: KeysDep, ctx: ContextDep) -> Accepted:
    """Confirms the address with the token of the emailed link (once, within 24 hours)."""
    await people(session, keys, ctx).verify_email(body.token)
    return Accepted(detail="Your email is confirmed; sign in.")


@router.post("/login", operation_id="auth_login", summary="Sign in", responses=problem_responses(401, 403, 422, 429))
async def login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep, keys: KeysDep, ctx: ContextDep
) -> TokenResponse:
    """Signs a person in: an access token for one workspace (15 minutes) and a single-use refresh token, in
    the body or, with `cookie: true`, as HttpOnly cookies. A wrong email and a wrong password answer the same
    401, in the same time. Failed attempts are limited per email and per address: after a few, each failure
    locks the next attempt for twice as long (429 with `Retry-After`). Sign-ins, and failed ones, are in the
    audit log of the person's workspaces."""
    tokens = await _sign_in(str(body.email), body.password, body.workspace_id, request, session, keys, ctx)
    return answer(tokens, response, body.cookie)


@router.post(
    "/token",
    operation_id="auth_token",
    summary="Sign in with the OAuth 2.0 password grant",
    responses=problem_responses(401, 403, 422, 429),
)
async def token(
    form: Annotated[PasswordGrant, Form()], request: Request, session: SessionDep, keys: KeysDep, ctx: ContextDep
) -> TokenResponse:
    """POST /v1/auth/login for OAuth 2.0 clients (RFC 6749 §4.3): a form with `grant_type=password`, the email
    as `username`, and `password`. The **Authorize** button of `/docs` signs in through it. Same answer,
    limits and lock-outs as POST /v1/auth/login, always in the body."""
    tokens = await _sign_in(form.username, form.password, None, request, session, keys, ctx)
    return answer(tokens, Response(), cookie=False)


async def _sign_in(
    email: str,
    password: str,
    workspace_id: uuid.UUID | None,
    request: Request,
    session: AsyncSession,
    keys: list[bytes],
    ctx: ProcessContext,
) -> Tokens:
    address = request_address(request, ctx.settings)
    limiter = SignInLimiter(ctx.arq)
    await limiter.check(email, address)
    client = Client(user_agent=request.headers.get("user-agent", ""), address=address)
    try:
        tokens = await people(session, keys, ctx).login(email, password, workspace_id, client)
    except Unauthorized:
        await limiter.failed(email, address)
        # The worker finds the account, if any, and records the attempt in its workspaces: the same work
        # here whether the email has an account or not.
        await ctx.arq.enqueue_job(
            FAILED_SIGN_IN_JOB, email=email, address=address, path=request.url.path, at=utcnow().isoformat()
        )
        raise
    await limiter.succeeded(email)
    if tokens.workspace_id is not None:
        await record_sign_in_event(
            session, "auth_login", request.url.path, tokens.workspace_id, tokens.person_id, address, tokens.session_id
        )
    return tokens


@router.post(
    "/refresh",
    operation_id="auth_refresh",
    summary="Renew the access token",
    responses=problem_responses(401, 403, 422),
)
async def refresh(
    body: RefreshRequest, request: Request, response: Response, session: SessionDep, keys: KeysDep, ctx: ContextDep
) -> TokenResponse:
    """Trades the refresh token (body, or the `loupe_refresh` cookie with `X-CSRF-Token`) for a new access
    token and a new refresh token. Each refresh token works once: presenting a used one again means it was
    copied, and ends the whole session (every token of it) with 401."""
    secret, from_cookie = refresh_token_of(request, body.refresh_token)
    try:
        tokens = await people(session, keys, ctx).refresh(secret)
    except RefreshReused:
        await session.commit()  # the revocation stands, though the answer is an error
        raise
    if from_cookie:
        check_csrf(request, keys, tokens.session_id)
    return answer(tokens, response, from_cookie)


@router.post(
    "/logout",
    operation_id="auth_logout",
    summary="Sign out",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 422),
)
async def logout(
    body: RefreshRequest, request: Request, response: Response, session: SessionDep, keys: KeysDep, ctx: ContextDep
) -> None:
    """Ends the session of the refresh token (body, or cookie with `X-CSRF-Token`): its access tokens stop
    working at once. An unknown token answers 204 too."""
    secret, from_cookie = refresh_token_of(request, body.refresh_token)
    ended = await people(session, keys, ctx).logout(secret)
    if ended is None:
        clear_tokens(response)
        return
    if from_cookie:
        check_csrf(request, keys, ended.id)
    if ended.workspace_id is not None:
        address = request_address(request, ctx.settings)
        await record_sign_in_event(
            session, "auth_logout", request.url.path, ended.workspace_id, ended.person_id, address, ended.id
        )
    clear_tokens(response)


@router.post(
    "/password-reset",
    operation_id="auth_password_reset",
    summary="Ask for a password reset link",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(422),
)
async def password_reset(body: PasswordResetRequest, ctx: ContextDep) -> Accepted:
    """Emails a link to choose a new password (single use, 30 minutes; a newer link voids older ones). The
    answer, and its time, are the same for an email without an account: the worker looks it up."""
    await ctx.arq.enqueue_job(RESET_JOB, email=str(body.email))
    return Accepted(detail=SENT)


@router.post(
    "/password-reset/confirm",
    operation_id="auth_password_reset_confirm",
    summary="Choose a new password",
    responses=problem_responses(422),
)
async def password_reset_confirm(
    body: PasswordResetConfirm, session: SessionDep, keys: KeysDep, ctx: ContextDep
) -> Accepted:
    """Sets the new password with the emailed token, and signs the person out everywhere."""
    await people(session, keys, ctx).confirm_reset(body.token, body.password)
    return Accepted(detail="Your password is changed; sign in with it.")
