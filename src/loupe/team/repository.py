from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.pagination import PageParams, build_page, keyset
from loupe.team.models import TeamInvitation


class InvitationRepository:
    """The team invitations of one workspace."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, invitation: TeamInvitation) -> TeamInvitation:
        invitation.workspace_id = self.workspace_id
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def list(self, params: PageParams) -> tuple[list[Any], str | None]:
        stmt = select(TeamInvitation).where(TeamInvitation.workspace_id == self.workspace_id)
        rows = (
            await self.session.execute(keyset(stmt, params, TeamInvitation.created_at, TeamInvitation.id))
        ).scalars()
        return build_page(list(rows), params)

    async def get(self, invitation_id: uuid.UUID) -> TeamInvitation | None:
        stmt = select(TeamInvitation).where(
            TeamInvitation.workspace_id == self.workspace_id, TeamInvitation.id == invitation_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()


class InvitationLinkRepository:
    """The one lookup across workspaces: which invitation an emailed link's token opens (by its digest)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, token_hash: str) -> TeamInvitation | None:
        stmt = select(TeamInvitation).where(TeamInvitation.token_hash == token_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def purge_dead(self, before: datetime) -> int:
        """Deletes invitations nobody accepted that expired or were revoked before `before`; accepted ones stay
        as the record of who joined through whom."""
        dead = (TeamInvitation.expires_at < before) | (TeamInvitation.revoked_at < before)
        result = await self.session.execute(delete(TeamInvitation).where(TeamInvitation.accepted_at.is_(None), dead))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
