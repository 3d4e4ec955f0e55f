from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Text, any_, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.invites.models import Invite, InviteStatus, InviteTemplate
from loupe.kit.db import like_contains
from loupe.kit.pagination import PageParams, build_page, keyset


async def find_by_token(session: AsyncSession, token: str) -> Invite | None:
    """The invite behind a link: the token is the only key a creator page has (no workspace yet)."""
    return (await session.execute(select(Invite).where(Invite.token == token))).scalar_one_or_none()


class InviteRepository:
    """Invites and the invite template of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def taken_emails(self, emails: Iterable[str]) -> set[str]:
        """Which of these (lower-cased) emails already have an invite; one array parameter, however many."""
        wanted = bindparam("emails", list(emails), type_=ARRAY(Text))
        stmt = select(func.lower(Invite.email)).where(
            Invite.workspace_id == self.workspace_id, func.lower(Invite.email) == any_(wanted)
        )
        return set((await self.session.scalars(stmt)).all())

    async def insert_many(self, rows: builtins.list[dict[str, Any]]) -> None:
        """One INSERT (executemany, batched by SQLAlchemy) for every invite."""
        await self.session.execute(insert(Invite), [{**row, "workspace_id": self.workspace_id} for row in rows])

    async def get(self, invite_id: uuid.UUID, *, for_update: bool = False) -> Invite | None:
        stmt = select(Invite).where(Invite.workspace_id == self.workspace_id, Invite.id == invite_id)
        if for_update:
            # Resends of one invite are serialised: the second sees the first's last_sent_at.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_many(self, ids: builtins.list[uuid.UUID]) -> builtins.list[Invite]:
        stmt = select(Invite).where(Invite.workspace_id == self.workspace_id, Invite.id.in_(ids))
        return list(await self.session.scalars(stmt))

    async def list(
        self, params: PageParams, status: InviteStatus | None, q: str | None
    ) -> tuple[builtins.list[Invite], str | None]:
        stmt = select(Invite).where(Invite.workspace_id == self.workspace_id)
        if status is not None:
            stmt = stmt.where(Invite.status == status.value)
        if q:
            pattern = like_contains(q.lower())
            stmt = stmt.where(
                or_(
                    func.lower(Invite.name).like(pattern, escape="\\"),
                    func.lower(Invite.email).like(pattern, escape="\\"),
                )
            )
        rows = list(await self.session.scalars(keyset(stmt, params, Invite.created_at, Invite.id)))
        return build_page(rows, params)

    async def template(self) -> InviteTemplate | None:
        stmt = select(InviteTemplate).where(InviteTemplate.workspace_id == self.workspace_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def save_template(self, subject: str, body: str) -> InviteTemplate:
        stmt = (
            pg_insert(InviteTemplate)
            .values(workspace_id=self.workspace_id, subject=subject, body=body)
            .on_conflict_do_update(
                index_elements=[InviteTemplate.workspace_id],
                set_={"subject": subject, "body": body, "updated_at": func.now()},
            )
            .returning(InviteTemplate)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def set_statuses(self, statuses: dict[uuid.UUID, str]) -> None:
        for invite_id, status in statuses.items():
            await self.session.execute(
                update(Invite)
                .where(Invite.workspace_id == self.workspace_id, Invite.id == invite_id, Invite.status != status)
                .values(status=status, updated_at=func.now())
            )

    async def by_email(self, email: str) -> Invite | None:
        stmt = select(Invite).where(Invite.workspace_id == self.workspace_id, func.lower(Invite.email) == email.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()
