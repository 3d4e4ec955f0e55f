"""A workspace's team: invitations by email and members with their roles."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.context import ProcessContext
from loupe.kit.deps import ContextDep, JobsDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.jobs import JobBuffer
from loupe.kit.outbox import Outbox
from loupe.kit.pagination import PageParamsDep
from loupe.people.models import Membership, Person, Role
from loupe.people.service import PeopleService, TeamService
from loupe.team.models import TeamInvitation
from loupe.team.schemas import (
    InvitationAccept,
    InvitationAccepted,
    InvitationCreate,
    InvitationPage,
    InvitationRead,
    MemberPage,
    MemberRead,
    OwnershipTransfer,
    RoleChange,
)
from loupe.team.service import InvitationService, accept, status_of
from loupe.workspaces.auth import AdminPrincipal, OwnerPrincipal, Principal, ReadPrincipal, record_write_by, requires
from loupe.workspaces.models import Scope

router = APIRouter(prefix="/team", tags=["team"])
public_router = APIRouter(prefix="/team", tags=["team"])

# Anyone in the team may leave it; removing someone else takes an admin (checked once the member is found).
LeavingPrincipal = Annotated[Principal, requires(Role.viewer, Scope.admin)]


def _read(invitation: TeamInvitation) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        status=status_of(invitation),  # type: ignore[arg-type]
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        invited_by_person_id=invitation.invited_by_person_id,
        invited_by_key_id=invitation.invited_by_key_id,
    )


def _invitations(
    session: AsyncSession, principal: Principal, ctx: ProcessContext, jobs: JobBuffer | None = None
) -> InvitationService:
    app_url = ctx.settings.app_base_url or ctx.settings.public_base_url
    return InvitationService(session, principal, Outbox(session, jobs), app_url)


@router.post(
    "/invitations",
    operation_id="team_invitations_create",
    summary="Invite someone to the team",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_invitation(
    body: InvitationCreate, principal: AdminPrincipal, session: SessionDep, ctx: ContextDep, jobs: JobsDep
) -> InvitationRead:
    """Emails a link to join the workspace with a role (7 days, single use). Whoever accepts joins with that
    role, making an account if the email has none."""
    return _read(await _invitations(session, principal, ctx, jobs).invite(str(body.email), body.role))


@router.get("/invitations", operation_id="team_invitations_list", summary="List team invitations")
async def list_invitations(
    principal: AdminPrincipal, session: SessionDep, ctx: ContextDep, page: PageParamsDep
) -> InvitationPage:
    """Every invitation of the workspace, newest first, with its status."""
    items, cursor = await _invitations(session, principal, ctx).list(page)
    return InvitationPage.of([_read(i) for i in items], cursor)


@router.delete(
    "/invitations/{invitation_id}",
    operation_id="team_invitations_revoke",
    summary="Revoke a team invitation",
    responses=problem_responses(404),
)
async def revoke_invitation(
    invitation_id: uuid.UUID, principal: AdminPrincipal, session: SessionDep, ctx: ContextDep
) -> InvitationRead:
    """Its link stops working (an accepted invitation stays accepted)."""
    return _read(await _invitations(session, principal, ctx).revoke(invitation_id))


@public_router.post(
    "/invitations/accept",
    operation_id="team_invitations_accept",
    summary="Accept a team invitation",
    responses=problem_responses(422),
)
async def accept_invitation(
    body: InvitationAccept, request: Request, session: SessionDep, ctx: ContextDep
) -> InvitationAccepted:
    """Public: the token of the emailed link is the credential. Joins the invited email to the workspace,
    making a (verified) account with `name` and `password` if the email has none; then sign in."""
    invitation, person_id, created = await accept(session, body.token, body.name, body.password)
    await record_write_by(session, request, ctx, invitation.workspace_id, person_id)
    return InvitationAccepted(
        workspace_id=invitation.workspace_id, role=invitation.role, person_id=person_id, created_account=created
    )


def _member(membership: Membership, person: Person) -> MemberRead:
    return MemberRead(
        person_id=person.id, name=person.name, email=person.email, role=membership.role, joined_at=membership.created_at
    )


@router.get("/members", operation_id="team_members_list", summary="List the team")
async def list_members(principal: ReadPrincipal, session: SessionDep) -> MemberPage:
    """The people of the workspace with their roles, oldest first (organization admins reach it too, without
    being listed)."""
    rows = await TeamService(session, principal.workspace_id).list()
    return MemberPage.of([_member(m, p) for m, p in rows], None)


@router.patch(
    "/members/{person_id}",
    operation_id="team_members_update",
    summary="Change a member's role",
    responses=problem_responses(404, 409, 422),
)
async def change_role(
    person_id: uuid.UUID, body: RoleChange, principal: AdminPrincipal, session: SessionDep
) -> MemberRead:
    """Admins change roles; only an owner makes or demotes an owner, and the last owner cannot be demoted (409)."""
    team = TeamService(session, principal.workspace_id)
    membership = await team.change_role(person_id, body.role, principal.role if principal.person_id else None)
    return _member(membership, await PeopleService(session).person(person_id))


@router.delete(
    "/members/{person_id}",
    operation_id="team_members_remove",
    summary="Remove a member, or leave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409),
)
async def remove_member(person_id: uuid.UUID, principal: LeavingPrincipal, session: SessionDep) -> None:
    """Removes someone from the team (admins), or yourself (anyone: leaving). Only an owner removes an owner,
    and the last owner cannot leave (409). Their tokens for this workspace stop working at once."""
    team = TeamService(session, principal.workspace_id)
    leaving = principal.person_id == person_id
    await team.remove(person_id, principal.role, may_remove_others=leaving or _is_admin(principal))


@router.post(
    "/transfer-ownership",
    operation_id="team_ownership_transfer",
    summary="Hand the workspace over to another member",
    responses=problem_responses(404, 422),
)
async def transfer_ownership(body: OwnershipTransfer, principal: OwnerPrincipal, session: SessionDep) -> MemberRead:
    """The member named becomes an owner and the caller, an owner, steps down to admin, in one step (the
    workspace always has an owner). To share ownership instead, make them an owner with PATCH."""
    team = TeamService(session, principal.workspace_id)
    owner = principal.person_id  # an owner is a person: keys may not call this
    membership = await team.transfer_ownership(owner, body.person_id)  # type: ignore[arg-type]
    return _member(membership, await PeopleService(session).person(body.person_id))


def _is_admin(principal: Principal) -> bool:
    if principal.person_id is None:
        return True  # a key: its declared `admin` scope was checked
    return principal.role is not None and principal.role.at_least(Role.admin)
