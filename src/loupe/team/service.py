"""A workspace's team over HTTP: invitations by email (single use, expiring, revocable) and their acceptance."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.db import utcnow
from loupe.kit.errors import Forbidden, NotFound, ValidationFailed
from loupe.kit.outbox import Outbox, OutboxKind, email_payload
from loupe.kit.pagination import PageParams
from loupe.people.models import Role
from loupe.people.service import PeopleService, TeamService
from loupe.people.tokens import digest, new_secret
from loupe.team.models import TeamInvitation
from loupe.team.repository import InvitationLinkRepository, InvitationRepository
from loupe.workspaces.auth import Principal
from loupe.workspaces.service import WorkspaceService

INVITATION_TTL = timedelta(days=7)


def status_of(invitation: TeamInvitation) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= utcnow() else "pending"


class InvitationService:
    def __init__(self, session: AsyncSession, principal: Principal, outbox: Outbox, app_url: str) -> None:
        self.session = session
        self.principal = principal
        self.invitations = InvitationRepository(session, principal.workspace_id)
        self.outbox = outbox
        self.app_url = app_url.rstrip("/")

    async def invite(self, email: str, role: Role) -> TeamInvitation:
        if role is Role.owner and self.principal.role is not Role.owner:
            raise Forbidden("Only an owner may invite an owner.")
        secret, secret_hash = new_secret()
        now = utcnow()
        invitation = await self.invitations.add(
            TeamInvitation(
                email=email,
                role=role,
                token_hash=secret_hash,
                invited_by_person_id=self.principal.person_id,
                invited_by_key_id=self.principal.api_key_id,
                created_at=now,
                expires_at=now + INVITATION_TTL,
            )
        )
        workspace = await WorkspaceService(self.session).get_workspace(self.principal.workspace_id)
        link = f"{self.app_url}/accept-invitation?token={secret}"
        body = (
            f"You are invited to join {workspace.name} on Loupe as {role.value}.\n\nAccept here: {link}\n\n"
            f"(Or send this token to POST /v1/team/invitations/accept: {secret})\n\n"
            f"The invitation expires in {INVITATION_TTL.days} days.\n"
        )
        await self.outbox.add(
            self.principal.workspace_id,
            OutboxKind.email,
            [email_payload(email, f"Join {workspace.name} on Loupe", body)],
        )
        return invitation

    async def list(self, params: PageParams) -> tuple[list[TeamInvitation], str | None]:
        return await self.invitations.list(params)

    async def revoke(self, invitation_id: uuid.UUID) -> TeamInvitation:
        invitation = await self.invitations.get(invitation_id)
        if invitation is None:
            raise NotFound(f"Invitation {invitation_id} was not found.")
        if invitation.accepted_at is None and invitation.revoked_at is None:
            invitation.revoked_at = utcnow()
        return invitation


async def accept(
    session: AsyncSession, token: str, name: str | None, password: str | None
) -> tuple[TeamInvitation, uuid.UUID, bool]:
    """Joins the invited email to the workspace (making its account if there is none); the link works once."""
    invitation = await InvitationLinkRepository(session).claim(digest(token))
    live = invitation is not None and await WorkspaceService(session).is_live(invitation.workspace_id)
    if invitation is None or not live or status_of(invitation) != "pending":
        raise ValidationFailed.on("body.token", "This invitation is not valid: it was used, revoked, or expired.")
    person, created = await PeopleService(session).join(invitation.email, name, password)
    await TeamService(session, invitation.workspace_id).add(person.id, Role(invitation.role))
    invitation.accepted_at = utcnow()
    invitation.accepted_by_person_id = person.id
    return invitation, person.id, created
