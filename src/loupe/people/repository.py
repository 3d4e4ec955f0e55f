from __future__ import annotations

import builtins
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import column, delete, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.pagination import PageParams, build_page, keyset
from loupe.people.models import (
    AuthSession,
    Membership,
    Organization,
    OrganizationMember,
    Person,
    PersonToken,
    RefreshToken,
    Role,
    TokenPurpose,
)

# The workspaces table as far as people need it (which organization owns a workspace); the model lives in a
# higher layer.
workspaces_table = table("workspaces", column("id"), column("organization_id"))


class PeopleRepository:
    """People, their sessions and tokens: a person is not inside one workspace, they reach workspaces through
    memberships."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Any) -> Any:
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def by_email(self, email: str) -> Person | None:
        stmt = select(Person).where(func.lower(Person.email) == email.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_token(self, token_hash: str, purpose: TokenPurpose) -> PersonToken | None:
        stmt = (
            select(PersonToken)
            .where(PersonToken.token_hash == token_hash, PersonToken.purpose == purpose)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def spend_tokens(self, person_id: uuid.UUID, purpose: TokenPurpose, at: datetime) -> None:
        """Every outstanding token of that purpose is used up (a reset link works once, and only the newest)."""
        await self.session.execute(
            update(PersonToken)
            .where(PersonToken.person_id == person_id, PersonToken.purpose == purpose, PersonToken.used_at.is_(None))
            .values(used_at=at)
        )

    # -- sessions and refresh tokens -------------------------------------------------------------------------
    async def get_session(self, session_id: uuid.UUID) -> AuthSession | None:
        return await self.session.get(AuthSession, session_id)

    async def claim_refresh(self, token_hash: str) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def spend_refresh(self, session_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id, RefreshToken.used_at.is_(None))
            .values(used_at=at)
        )

    async def active_sessions(
        self, person_id: uuid.UUID, now: datetime, params: PageParams
    ) -> tuple[list[Any], str | None]:
        stmt = select(AuthSession).where(
            AuthSession.person_id == person_id, AuthSession.revoked_at.is_(None), AuthSession.expires_at > now
        )
        rows = list(
            (await self.session.execute(keyset(stmt, params, AuthSession.created_at, AuthSession.id))).scalars()
        )
        return build_page(rows, params)

    async def purge_expired(self, before: datetime) -> dict[str, int]:
        """Deletes emailed tokens and sessions (their refresh tokens cascade) that expired, or were used up or
        revoked, before `before`."""
        tokens = await self.session.execute(
            delete(PersonToken).where((PersonToken.expires_at < before) | (PersonToken.used_at < before))
        )
        sessions = await self.session.execute(
            delete(AuthSession).where((AuthSession.expires_at < before) | (AuthSession.revoked_at < before))
        )
        return {
            "person_tokens": int(tokens.rowcount or 0),  # type: ignore[attr-defined]
            "sessions": int(sessions.rowcount or 0),  # type: ignore[attr-defined]
        }

    async def revoke_sessions(self, person_id: uuid.UUID, at: datetime) -> int:
        stmt = update(AuthSession).where(AuthSession.person_id == person_id, AuthSession.revoked_at.is_(None))
        result = await self.session.execute(stmt.values(revoked_at=at))
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- workspaces a person reaches -------------------------------------------------------------------------
    async def role_in(self, person_id: uuid.UUID, workspace_id: uuid.UUID) -> Role | None:
        """The person's role in the workspace: their own membership's, or admin through the organization that
        owns the workspace (owner for its owners), whichever is higher."""
        direct = select(Membership.role).where(
            Membership.person_id == person_id, Membership.workspace_id == workspace_id
        )
        through = (
            select(OrganizationMember.role)
            .join(workspaces_table, workspaces_table.c.organization_id == OrganizationMember.organization_id)
            .where(
                OrganizationMember.person_id == person_id,
                workspaces_table.c.id == workspace_id,
                OrganizationMember.role.in_([Role.admin, Role.owner]),
            )
        )
        roles = list((await self.session.execute(direct.union_all(through))).scalars())
        return max((Role(r) for r in roles), key=lambda r: r.rank, default=None)

    async def workspaces_of(self, person_id: uuid.UUID) -> dict[uuid.UUID, Role]:
        """Every workspace the person reaches, with their (highest) role there: their own memberships first,
        oldest first, then their organizations' workspaces."""
        direct = (
            select(Membership.workspace_id, Membership.role)
            .where(Membership.person_id == person_id)
            .order_by(Membership.created_at, Membership.workspace_id)
        )
        through = (
            select(workspaces_table.c.id, OrganizationMember.role)
            .join(workspaces_table, workspaces_table.c.organization_id == OrganizationMember.organization_id)
            .where(OrganizationMember.person_id == person_id, OrganizationMember.role.in_([Role.admin, Role.owner]))
            .order_by(workspaces_table.c.id)
        )
        out: dict[uuid.UUID, Role] = {}
        for stmt in (direct, through):
            for workspace_id, raw in (await self.session.execute(stmt)).all():
                role = Role(raw)
                if workspace_id not in out or role.rank > out[workspace_id].rank:
                    out[workspace_id] = role
        return out

    async def organizations_of(self, person_id: uuid.UUID) -> list[tuple[Organization, Role]]:
        stmt = (
            select(Organization, OrganizationMember.role)
            .join(OrganizationMember, OrganizationMember.organization_id == Organization.id)
            .where(OrganizationMember.person_id == person_id)
            .order_by(Organization.created_at)
        )
        return [(org, Role(role)) for org, role in (await self.session.execute(stmt)).all()]

    async def organization_role(self, person_id: uuid.UUID, organization_id: uuid.UUID) -> Role | None:
        stmt = select(OrganizationMember.role).where(
            OrganizationMember.person_id == person_id, OrganizationMember.organization_id == organization_id
        )
        role = (await self.session.execute(stmt)).scalar_one_or_none()
        return Role(role) if role else None


class MembershipRepository:
    """The members of one workspace."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def list(self) -> builtins.list[tuple[Membership, Person]]:
        """The whole team, oldest first (a team is a handful of people, not a page of thousands)."""
        stmt = (
            select(Membership, Person)
            .join(Person, Person.id == Membership.person_id)
            .where(Membership.workspace_id == self.workspace_id)
            .order_by(Membership.created_at, Membership.person_id)
        )
        return [(m, p) for m, p in (await self.session.execute(stmt)).all()]

    async def get(self, person_id: uuid.UUID, *, lock: bool = False) -> Membership | None:
        stmt = select(Membership).where(Membership.workspace_id == self.workspace_id, Membership.person_id == person_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, person_id: uuid.UUID, role: Role) -> Membership:
        membership = Membership(workspace_id=self.workspace_id, person_id=person_id, role=role)
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def owners(self) -> builtins.list[uuid.UUID]:
        """The owners, locked: two admins demoting the last two owners at once cannot both succeed."""
        stmt = (
            select(Membership.person_id)
            .where(Membership.workspace_id == self.workspace_id, Membership.role == Role.owner)
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def remove(self, person_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Membership).where(Membership.workspace_id == self.workspace_id, Membership.person_id == person_id)
        )

    async def remove_all(self) -> None:
        await self.session.execute(delete(Membership).where(Membership.workspace_id == self.workspace_id))
