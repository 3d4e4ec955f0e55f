"""The creator pages (public, server-rendered, no JavaScript): the invite page, the connect trip, the account
choice, done and failure pages, the workspace-wide join page and the data-deletion status page.

They live outside `/v1`: the secret in the URL (invite token, workspace connect token, choice token) is
the credential. Every form posts back here; nothing needs scripts.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections import creator_session
from loupe.connections.flow import ConnectFlow, Outcome
from loupe.connections.models import FailureReason
from loupe.connections.repository import ConnectionRepository, DeletionRepository, GrantRepository
from loupe.connections.texts import FAILURE_TEXTS, PLATFORM_TEXTS
from loupe.connectors.platforms import PLATFORMS
from loupe.invites.models import Invite
from loupe.invites.schemas import InviteCreate
from loupe.invites.service import InviteService, invite_by_token
from loupe.kit.deps import ContextDep, JobsDep, SessionDep
from loupe.kit.hooks import Hook
from loupe.workspaces.auth import acting_for
from loupe.workspaces.service import WorkspaceService

router = APIRouter(prefix="/connect", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATUS_WORDS = {
    "active": "Connected",
    "disconnected": "Disconnected",
    "expired": "Expired: connect it again",
    "revoked": "Access removed: connect it again",
}
EMAIL = TypeAdapter(EmailStr)
HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


async def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    context = {"platforms": PLATFORM_TEXTS, "status_words": STATUS_WORDS, "title": "Connect", **context}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(HEADERS)
    return response


async def _workspace_name(session: SessionDep, workspace_id: uuid.UUID) -> str:
    return (await WorkspaceService(session).get_workspace(workspace_id)).name


async def _not_found(request: Request) -> HTMLResponse:
    context = {
        "title": "Link not found",
        "headline": "This link does not work",
        "explanation": "Check that you opened the whole link from your email, or ask the brand for a new one.",
    }
    return await _page(request, "message.html", context, status=404)


async def _invite_or_404(request: Request, session: SessionDep, token: str) -> Invite | HTMLResponse:
    invite = await invite_by_token(session, token)
    return invite if invite is not None else await _not_found(request)


async def _failure(request: Request, session: SessionDep, outcome: Outcome) -> HTMLResponse:
    reason = outcome.failure or FailureReason.platform_error
    headline, explanation = FAILURE_TEXTS[reason]
    context = {
        "title": headline,
        "headline": headline,
        "explanation": explanation,
        "invite": outcome.invite,
        "platform": outcome.platform,
        "platform_name": PLATFORM_TEXTS[outcome.platform].name,
        "workspace_name": await _workspace_name(session, outcome.invite.workspace_id) if outcome.invite else None,
    }
    status = 409 if reason is FailureReason.limit_reached else 400 if reason is FailureReason.invalid_state else 200
    return await _page(request, "failed.html", context, status=status)


async def _done(request: Request, session: SessionDep, ctx: ContextDep, outcome: Outcome) -> Response:
    if outcome.invite is None:
        raise RuntimeError("a finished connection always comes from an invite")
    context = {
        "title": "Connected",
        "invite": outcome.invite,
        "connections": outcome.connections,
        "platform_name": PLATFORM_TEXTS[outcome.platform].name,
        "workspace_name": await _workspace_name(session, outcome.invite.workspace_id),
    }
    response = await _page(request, "done.html", context)
    creator_session.remember(response, request, ctx.vault, ctx.settings, [c.id for c in outcome.connections])
    return response


@router.get("/{token}", response_class=HTMLResponse)
async def invite_page(token: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    invite = await _invite_or_404(request, session, token)
    if not isinstance(invite, Invite):
        return invite
    grants = await GrantRepository(session, invite.workspace_id).of_invite(invite.id)
    connected = [{"grant": g, "connection": c} for g, c, _ in grants]
    active_here = {c.id for g, c, _ in grants if g.status == "active"}
    mine = await ConnectionRepository(session).get_many(creator_session.connection_ids(request, ctx.vault))
    shareable = [c for c in mine if c.status == "active" and c.id not in active_here]
    notice = {"disconnected": "The account was disconnected.", "shared": "Your accounts were shared."}.get(
        request.query_params.get("notice", "")
    )
    context = {
        "title": "Connect your accounts",
        "invite": invite,
        "workspace_name": await _workspace_name(session, invite.workspace_id),
        "connected": connected,
        "shareable": shareable,
        "notice": notice,
    }
    return await _page(request, "invite.html", context)


@router.post("/{token}/start/{platform}")
async def start(token: str, platform: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    invite = await _invite_or_404(request, session, token)
    if not isinstance(invite, Invite):
        return invite
    if platform not in PLATFORMS:
        return RedirectResponse(f"/connect/{token}", status_code=303)
    result = await ConnectFlow(session, ctx).start(invite, platform)
    if isinstance(result, Outcome):
        return await _failure(request, session, result)
    return RedirectResponse(result, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/callback/{platform}")
async def callback(platform: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    if platform not in PLATFORMS:
        return await _failure(request, session, Outcome("instagram", failure=FailureReason.invalid_state))

    async def invite_of(invite_id: uuid.UUID, workspace_id: uuid.UUID) -> Invite:
        return await InviteService(session, acting_for(workspace_id), ctx.settings.public_base_url).get(invite_id)

    outcome = await ConnectFlow(session, ctx).callback(platform, dict(request.query_params), invite_of)
    if outcome.choice_token:
        return RedirectResponse(f"/connect/choose/{outcome.choice_token}", status_code=303)
    if outcome.failure:
        return await _failure(request, session, outcome)
    return await _done(request, session, ctx, outcome)


async def _choice(request: Request, session: SessionDep, ctx: ContextDep, choice: str) -> Any:
    flow = ConnectFlow(session, ctx)
    attempt = await flow.pending_choice(choice)
    if attempt is None:
        return flow, None, await _failure(request, session, Outcome("instagram", failure=FailureReason.invalid_state))
    return flow, attempt, None


@router.get("/choose/{choice}", response_class=HTMLResponse)
async def choose_page(choice: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    _, attempt, refused = await _choice(request, session, ctx, choice)
    if refused:
        return refused  # type: ignore[no-any-return]
    context = {
        "title": "Choose an account",
        "choice": choice,
        "accounts": [{k: a[k] for k in ("id", "username", "name", "page_name")} for a in attempt.pending_accounts],
        "platform_name": PLATFORM_TEXTS[attempt.platform].name,
        "workspace_name": await _workspace_name(session, attempt.workspace_id),
    }
    return await _page(request, "choose.html", context)


@router.post("/choose/{choice}")
async def choose(choice: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    flow, attempt, refused = await _choice(request, session, ctx, choice)
    if refused:
        return refused  # type: ignore[no-any-return]
    form = await request.form()
    picked = [str(v) for v in form.getlist("account_id")]
    if not any(a["id"] in picked for a in attempt.pending_accounts):
        return RedirectResponse(f"/connect/choose/{choice}", status_code=303)
    invite = await InviteService(session, acting_for(attempt.workspace_id), ctx.settings.public_base_url).get(
        attempt.invite_id
    )
    outcome = await flow.choose(attempt, invite, picked)
    if outcome.failure:
        return await _failure(request, session, outcome)
    return await _done(request, session, ctx, outcome)


@router.post("/{token}/share")
async def share(token: str, request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    invite = await _invite_or_404(request, session, token)
    if not isinstance(invite, Invite):
        return invite
    form = await request.form()
    mine = set(creator_session.connection_ids(request, ctx.vault))
    wanted = [uuid.UUID(v) for v in map(str, form.getlist("connection_id")) if _is_uuid(v)]
    # Only what this browser connected itself can be shared: the cookie is the proof.
    outcome = await ConnectFlow(session, ctx).share(invite, [i for i in wanted if i in mine])
    if outcome is None:
        return RedirectResponse(f"/connect/{token}", status_code=303)
    if outcome.failure:
        return await _failure(request, session, outcome)
    return await _done(request, session, ctx, outcome)


@router.post("/{token}/disconnect/{connection_id}")
async def disconnect(
    token: str, connection_id: uuid.UUID, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    invite = await _invite_or_404(request, session, token)
    if not isinstance(invite, Invite):
        return invite
    grant = await GrantRepository(session, invite.workspace_id).get_for_connection(connection_id)
    connection = await ConnectionRepository(session).get(connection_id)
    # The account must have come through this invite: an invite link cannot touch other creators' accounts.
    if grant is None or grant.invite_id != invite.id or connection is None:
        return RedirectResponse(f"/connect/{token}", status_code=303)
    form = await request.form()
    everywhere = form.get("scope") == "everywhere"
    if everywhere and form.get("confirm") != "yes":  # every brand and a platform revocation: ask once more
        context = {
            "title": "Disconnect everywhere",
            "invite": invite,
            "connection_id": connection.id,
            "label": connection.username or connection.display_name or connection.platform_user_id,
            "platform_name": PLATFORM_TEXTS[connection.platform].name,
            "workspace_name": await _workspace_name(session, invite.workspace_id),
        }
        return await _page(request, "confirm.html", context)
    await ConnectFlow(session, ctx).disconnect(invite, connection, everywhere=everywhere)
    return RedirectResponse(f"/connect/{token}?notice=disconnected", status_code=303)


# A creator gave their name through a link bound to something of the workspace (`?tracking=<id>`): the
# owner of that binding (trackings) remembers the invite, in the same transaction.
joined_for: Hook[[AsyncSession, Invite, str]] = Hook("joined_for")


@router.get("/w/{workspace_token}", response_class=HTMLResponse)
async def join_page(workspace_token: str, request: Request, session: SessionDep) -> Response:
    workspace = await WorkspaceService(session).by_connect_token(workspace_token)
    if workspace is None:
        return await _not_found(request)
    context = {
        "title": "Connect",
        "workspace_name": workspace.name,
        "workspace_token": workspace_token,
        "binding": request.query_params.get("tracking", ""),
    }
    return await _page(request, "join.html", context)


@router.post("/w/{workspace_token}")
async def join(workspace_token: str, request: Request, session: SessionDep, ctx: ContextDep, jobs: JobsDep) -> Response:
    """The brand-wide link: name and email make the influencer and the invite, then the invite page opens.
    An email already invited gets its link by email instead, so nobody can open another person's invite."""
    workspace = await WorkspaceService(session).by_connect_token(workspace_token)
    if workspace is None:
        return await _not_found(request)
    form = await request.form()
    name, email = str(form.get("name", "")).strip(), str(form.get("email", "")).strip()
    binding = str(form.get("tracking", "")).strip()[:100]
    context: dict[str, Any] = {
        "title": "Connect",
        "workspace_name": workspace.name,
        "workspace_token": workspace_token,
        "name": name,
        "email": email,
        "binding": binding,
    }
    try:
        data = InviteCreate(name=name, email=EMAIL.validate_python(email))
    except ValidationError:
        context["error"] = "Enter your name and a valid email address."
        return await _page(request, "join.html", context, status=422)
    service = InviteService(session, acting_for(workspace.id), ctx.settings.public_base_url, jobs)
    existing = await service.by_email(email)
    if existing is not None:
        if binding:
            await joined_for(session, existing, binding)
        await service.resend_if_allowed(existing)
        context["notice"] = f"You already have an invite from {workspace.name}: we sent its link to {email} again."
        return await _page(request, "join.html", context)
    invite = await service.create(data)
    if binding:
        await joined_for(session, invite, binding)
    return RedirectResponse(f"/connect/{invite.token}", status_code=303)


@router.get("/deletion/{code}", response_class=HTMLResponse)
async def deletion_status(code: str, request: Request, session: SessionDep) -> Response:
    found = await DeletionRepository(session).by_code(code)
    if found is None:
        context = {
            "title": "Unknown request",
            "headline": "We found no deletion request with this code",
            "explanation": "Check the confirmation code the platform gave you.",
        }
        return await _page(request, "message.html", context, status=404)
    when = (found.completed_at or found.created_at).strftime("%d %B %Y at %H:%M UTC")
    explanation = (
        f"Your request {found.confirmation_code} is complete: on {when} we deleted the access tokens and the "
        f"personal data of {found.accounts_deleted} account(s) that the platform had shared with Loupe."
        if found.status == "completed"
        else f"Your request {found.confirmation_code} was received on {when} and is being processed."
    )
    context = {"title": "Data deletion", "headline": "Your data-deletion request", "explanation": explanation}
    return await _page(request, "message.html", context)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
