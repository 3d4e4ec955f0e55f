"""A signed-in person's own routes: who they are, their sessions, switching workspace, and the workspaces
and organizations they create. API keys cannot call them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.context import ProcessContext
from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import Forbidden, problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.people.models import OrganizationMember, Person, Role
from loupe.people.organizations import OrganizationService
from loupe.people.service import PeopleService
from loupe.team.auth_router import answer
from loupe.team.schemas import (
    CreatedWorkspace,
    MembershipRead,
    MeRead,
    OrganizationCreate,
    OrganizationDetail,
    OrganizationMemberPage,
    OrganizationMemberRead,
    OrganizationRead,
    OrganizationRoleChange,
    OrganizationWorkspace,
    SessionPage,
    SessionRead,
    SwitchRequest,
    TokenResponse,
    WorkspaceCreate,
)
from loupe.workspaces.auth import KeysDep, PersonCaller, record_write_by
from loupe.workspaces.service import WorkspaceService

router = APIRouter(tags=["me"])


@router.get("/me", operation_id="me_get", summary="The signed-in person")
async def get_me(caller: PersonCaller, session: SessionDep) -> MeRead:
    """The person, the workspace their token acts in, every workspace they reach (their own memberships and
    their organizations' workspaces) with their role there, and their organizations."""
    people = PeopleService(session)
    person = await people.person(caller.person_id)
    roles = await people.workspaces_of(person.id)
    workspaces = await WorkspaceService(session).many(list(roles))
    return MeRead(
        id=person.id,
        name=person.name,
        email=person.email,
        email_verified=person.email_verified_at is not None,
        workspace_id=caller.workspace_id,
        memberships=[
            MembershipRead(
                workspace_id=wid,
                workspace_name=workspaces[wid].name,
                organization_id=workspaces[wid].organization_id,
                role=role,
            )
            for wid, role in roles.items()
            if wid in workspaces
        ],
        organizations=[
            OrganizationRead(id=org.id, name=org.name, role=role, created_at=org.created_at)
            for org, role in await people.organizations_of(person.id)
        ],
    )


@router.get("/me/sessions", operation_id="me_sessions_list", summary="List my sessions")
async def list_sessions(caller: PersonCaller, session: SessionDep, page: PageParamsDep) -> SessionPage:
    """The person's active sign-ins (devices), newest first."""
    items, cursor = await PeopleService(session).sessions(caller.person_id, page)
    rows = [
        SessionRead(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            user_agent=s.user_agent,
            address=s.address,
            workspace_id=s.workspace_id,
            current=s.id == caller.session_id,
        )
        for s in items
    ]
    return SessionPage.of(rows, cursor)


@router.delete(
    "/me/sessions/{session_id}",
    operation_id="me_sessions_revoke",
    summary="Sign out a session",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def revoke_session(
    session_id: uuid.UUID, caller: PersonCaller, request: Request, session: SessionDep, ctx: ContextDep
) -> None:
    """Ends one of the person's sessions: its tokens stop working at once (this one's too, if it is this one).
    Recorded in the audit log of the workspace that session acted in."""
    workspace_id = await PeopleService(session).revoke_session(caller.person_id, session_id)
    if workspace_id is not None:
        await record_write_by(session, request, ctx, workspace_id, caller.person_id)


@router.post(
    "/auth/switch",
    operation_id="auth_switch",
    summary="Act in another workspace",
    tags=["sign-in"],
    responses=problem_responses(404, 422),
)
async def switch(
    body: SwitchRequest, caller: PersonCaller, response: Response, session: SessionDep, keys: KeysDep
) -> TokenResponse:
    """New tokens of this session for another workspace the person reaches (the old refresh token is spent)."""
    tokens = await PeopleService(session, keys).switch(caller.session_id, body.workspace_id)
    return answer(tokens, response, body.cookie)


@router.post(
    "/workspaces",
    operation_id="workspaces_create",
    summary="Create a workspace",
    tags=["workspace"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_workspace(
    body: WorkspaceCreate, caller: PersonCaller, request: Request, session: SessionDep, ctx: ContextDep
) -> CreatedWorkspace:
    """A new workspace (a brand) with the person as its owner; inside one of their organizations if they
    administer it. Act in it with POST /v1/auth/switch."""
    person_id = caller.person_id
    if body.organization_id and not await PeopleService(session).administers(person_id, body.organization_id):
        raise Forbidden("Only an organization's admins create workspaces in it.")
    workspace = await WorkspaceService(session).create_for(person_id, body.name, body.organization_id)
    await record_write_by(session, request, ctx, workspace.id, person_id)
    return CreatedWorkspace(
        id=workspace.id,
        name=workspace.name,
        organization_id=workspace.organization_id,
        role=Role.owner,
        created_at=workspace.created_at,
    )


@router.post(
    "/organizations",
    operation_id="organizations_create",
    summary="Create an organization",
    tags=["workspace"],
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_organization(body: OrganizationCreate, caller: PersonCaller, session: SessionDep) -> OrganizationRead:
    """An agency (or a company with several brands), with the person as its owner. Its owners and admins
    create workspaces in it and administer all of them."""
    organization = await PeopleService(session).create_organization(caller.person_id, body.name)
    return OrganizationRead(
        id=organization.id, name=organization.name, role=Role.owner, created_at=organization.created_at
    )


def _organization_member(member: OrganizationMember, person: Person) -> OrganizationMemberRead:
    return OrganizationMemberRead(
        person_id=person.id, name=person.name, email=person.email, role=member.role, joined_at=member.created_at
    )


@router.get(
    "/organizations/{organization_id}",
    operation_id="organizations_get",
    summary="An organization and its workspaces",
    tags=["workspace"],
    responses=problem_responses(404),
)
async def get_organization(organization_id: uuid.UUID, caller: PersonCaller, session: SessionDep) -> OrganizationDetail:
    """The organization, the caller's role in it and every workspace it owns (its admins reach them all:
    POST /v1/auth/switch to act in one). Someone outside it gets 404."""
    organizations = OrganizationService(session, organization_id, caller.person_id)
    organization, role = await organizations.view()
    workspaces = await WorkspaceService(session).many(await organizations.workspace_ids())
    return OrganizationDetail(
        id=organization.id,
        name=organization.name,
        role=role,
        created_at=organization.created_at,
        workspaces=[
            OrganizationWorkspace(id=w.id, name=w.name) for w in sorted(workspaces.values(), key=lambda w: w.created_at)
        ],
    )


@router.get(
    "/organizations/{organization_id}/members",
    operation_id="organizations_members_list",
    summary="List an organization's people",
    tags=["workspace"],
    responses=problem_responses(404),
)
async def list_organization_members(
    organization_id: uuid.UUID, caller: PersonCaller, session: SessionDep
) -> OrganizationMemberPage:
    """Its admins and owners, oldest first."""
    rows = await OrganizationService(session, organization_id, caller.person_id).members()
    return OrganizationMemberPage.of([_organization_member(m, p) for m, p in rows], None)


@router.put(
    "/organizations/{organization_id}/members/{person_id}",
    operation_id="organizations_members_set",
    summary="Add someone to an organization, or change their role",
    tags=["workspace"],
    responses=problem_responses(404, 409, 422),
)
async def set_organization_member(
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
    body: OrganizationRoleChange,
    caller: PersonCaller,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> OrganizationMemberRead:
    """Its admins add someone from the team of one of its workspaces (404 otherwise: invite them to one
    first) as `admin` or `owner`, or change a role; only an owner makes or demotes an owner, and the last
    owner cannot be demoted (409). Recorded in the audit log of each of its workspaces."""
    organizations = OrganizationService(session, organization_id, caller.person_id)
    member = await organizations.set_role(person_id, body.role)
    await _record(organizations, session, request, ctx, caller.person_id)
    return _organization_member(member, await PeopleService(session).person(person_id))


async def _record(
    organizations: OrganizationService,
    session: AsyncSession,
    request: Request,
    ctx: ProcessContext,
    person_id: uuid.UUID,
) -> None:
    """An organization's write reaches all its workspaces: it is in each one's audit log."""
    for workspace_id in await organizations.workspace_ids():
        await record_write_by(session, request, ctx, workspace_id, person_id)


@router.delete(
    "/organizations/{organization_id}/members/{person_id}",
    operation_id="organizations_members_remove",
    summary="Remove someone from an organization, or leave it",
    tags=["workspace"],
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409),
)
async def remove_organization_member(
    organization_id: uuid.UUID,
    person_id: uuid.UUID,
    caller: PersonCaller,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
) -> None:
    """Admins remove someone (only an owner removes an owner); anyone may leave; the last owner cannot (409).
    They stop reaching the organization's workspaces at once (their own memberships stay). Recorded in the
    audit log of each of its workspaces."""
    organizations = OrganizationService(session, organization_id, caller.person_id)
    await organizations.remove(person_id)
    await _record(organizations, session, request, ctx, caller.person_id)
