from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.pagination import PageParams, build_page, keyset
from loupe.workspaces.models import ApiKey, Workspace


class WorkspaceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, workspace: Workspace) -> Workspace:
        self.session.add(workspace)
        await self.session.flush()
        return workspace

    async def get(self, workspace_id: uuid.UUID) -> Workspace | None:
        return await self.session.get(Workspace, workspace_id)


class ApiKeyRepository:
    """API keys. Lookups by digest are global (that is how a caller is identified);
    everything else is scoped to one workspace."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def find_active_by_hash(self, key_hash: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def touch(self, key_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))

    async def list(self, workspace_id: uuid.UUID, params: PageParams) -> tuple[list[Any], str | None]:
        stmt = select(ApiKey).where(ApiKey.workspace_id == workspace_id, ApiKey.revoked_at.is_(None))
        rows = list((await self.session.execute(keyset(stmt, params, ApiKey.created_at, ApiKey.id))).scalars())
        return build_page(rows, params)

    async def get(self, workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
        stmt = select(ApiKey).where(
            ApiKey.workspace_id == workspace_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
