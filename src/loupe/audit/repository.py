from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.audit.models import AuditEvent
from loupe.kit.pagination import PageParams, build_page, keyset


class AuditRepository:
    """The audit events of one workspace."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, event: AuditEvent) -> None:
        event.workspace_id = self.workspace_id
        self.session.add(event)
        await self.session.flush()

    async def list(
        self,
        params: PageParams,
        *,
        actor_id: uuid.UUID | None = None,
        resource_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[Any], str | None]:
        stmt = select(AuditEvent).where(AuditEvent.workspace_id == self.workspace_id)
        if actor_id is not None:
            stmt = stmt.where(AuditEvent.actor_id == actor_id)
        if resource_type is not None:
            stmt = stmt.where(AuditEvent.resource_type == resource_type)
        if since is not None:
            stmt = stmt.where(AuditEvent.created_at >= since)
        if until is not None:
            stmt = stmt.where(AuditEvent.created_at < until)
        rows = list((await self.session.execute(keyset(stmt, params, AuditEvent.created_at, AuditEvent.id))).scalars())
        return build_page(rows, params)
