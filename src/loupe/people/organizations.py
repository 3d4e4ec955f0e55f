"""An organization's people (an agency's staff): who administers all its workspaces. Owners make and unmake
owners; admins add and remove admins; the last owner can neither leave nor be demoted. Someone joins from
the teams of the organization's own workspaces (invite them to one first), so an admin cannot probe which
emails have an account."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from loupe.people.models import Membership, Organization, OrganizationMember, Person, Role
from loupe.people.repository import workspaces_table

ORGANIZATION_ROLES = (Role.admin, Role.owner)


class OrganizationRepository:
    def __init__(self, session: AsyncSession, organization_id: uuid.UUID) -> None:
        self.session = session
        self.organization_id = organization_id

    async def get(self) -> Organization | None:
        return await self.session.get(Organization, self.organization_id)

    async def members(self) -> list[tuple[OrganizationMember, Person]]:
        stmt = (
            select(OrganizationMember, Person)
            .join(Person, Person.id == OrganizationMember.person_id)
            .where(OrganizationMember.organization_id == self.organization_id)
            .order_by(OrganizationMember.created_at, OrganizationMember.person_id)
        )
        return [(m, p) for m, p in (await self.session.execute(stmt)).all()]

    async def member(self, person_id: uuid.UUID, *, lock: bool = False) -> OrganizationMember | None:
        stmt = select(OrganizationMember).where(
            OrganizationMember.organization_id == self.organization_id, OrganizationMember.person_id == person_id
        )
        return (await self.session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()

    async def workspace_ids(self) -> list[uuid.UUID]:
        stmt = select(workspaces_table.c.id).where(workspaces_table.c.organization_id == self.organization_id)
        return list((await self.session.execute(stmt)).scalars())

    async def in_a_workspace(self, person_id: uuid.UUID) -> bool:
        """Is the person in the team of one of the organization's workspaces?"""
        stmt = select(
            exists().where(
                Membership.person_id == person_id,
                Membership.workspace_id == workspaces_table.c.id,
                workspaces_table.c.organization_id == self.organization_id,
            )
        )
        return bool(await self.session.scalar(stmt))

    async def owners(self) -> list[uuid.UUID]:
        stmt = (
            select(OrganizationMember.person_id)
            .where(OrganizationMember.organization_id == self.organization_id, OrganizationMember.role == Role.owner)
            .with_for_update()
        )
        return list((await self.session.execute(stmt)).scalars())

    async def add(self, person_id: uuid.UUID, role: Role) -> OrganizationMember:
        member = OrganizationMember(organization_id=self.organization_id, person_id=person_id, role=role)
        self.session.add(member)
        await self.session.flush()
        return member

    async def remove(self, person_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(OrganizationMember).where(
                OrganizationMember.organization_id == self.organization_id, OrganizationMember.person_id == person_id
            )
        )


class OrganizationService:
    """One organization as seen by one signed-in person: someone outside it gets 404, as for a workspace."""

    def __init__(self, session: AsyncSession, organization_id: uuid.UUID, caller_id: uuid.UUID) -> None:
        self.organizations = OrganizationRepository(session, organization_id)
        self.caller_id = caller_id

    async def view(self) -> tuple[Organization, Role]:
        caller = await self.organizations.member(self.caller_id)
        organization = await self.organizations.get()
        if caller is None or organization is None:
            raise NotFound("Organization not found.")
        return organization, Role(caller.role)

    async def members(self) -> list[tuple[OrganizationMember, Person]]:
        await self.view()
        return await self.organizations.members()

    async def workspace_ids(self) -> list[uuid.UUID]:
        """Its workspaces; callers have checked the caller's access (view, set_role or remove) already."""
        return await self.organizations.workspace_ids()

    async def set_role(self, person_id: uuid.UUID, role: Role) -> OrganizationMember:
        """Adds someone from the organization's workspaces' teams, or changes a member's role."""
        _, caller_role = await self.view()
        if role not in ORGANIZATION_ROLES:
            raise ValidationFailed.on("body.role", "An organization's people are its `admin`s or `owner`s.")
        if caller_role not in ORGANIZATION_ROLES:
            raise Forbidden("Only an organization's admins manage its people.")
        member = await self.organizations.member(person_id, lock=True)
        if member is None:
            if not await self.organizations.in_a_workspace(person_id):
                raise NotFound(f"Person {person_id} is in none of the organization's workspaces; invite them first.")
            self._may_touch(role, role, caller_role)
            return await self.organizations.add(person_id, role)
        self._may_touch(Role(member.role), role, caller_role)
        if member.role is Role.owner and role is not Role.owner:
            await self._not_last_owner(person_id)
        member.role = role
        return member

    async def remove(self, person_id: uuid.UUID) -> None:
        _, caller_role = await self.view()
        member = await self.organizations.member(person_id, lock=True)
        if member is None:
            raise NotFound(f"Person {person_id} is not in the organization.")
        if person_id != self.caller_id:
            if caller_role not in ORGANIZATION_ROLES:
                raise Forbidden("Only an organization's admins remove someone else; anyone may leave.")
            self._may_touch(Role(member.role), Role(member.role), caller_role)
        if member.role is Role.owner:
            await self._not_last_owner(person_id)
        await self.organizations.remove(person_id)

    @staticmethod
    def _may_touch(current: Role, wanted: Role, caller_role: Role) -> None:
        if Role.owner in (current, wanted) and caller_role is not Role.owner:
            raise Forbidden("Only an owner may make, demote or remove an organization's owner.")

    async def _not_last_owner(self, person_id: uuid.UUID) -> None:
        if not [owner for owner in await self.organizations.owners() if owner != person_id]:
            raise Conflict("The last owner cannot leave or be demoted; make someone else an owner first.")
