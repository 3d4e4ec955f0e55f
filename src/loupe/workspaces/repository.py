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

    async def by_connect_token(self, token: str) -> Workspace | None:
        stmt = select(Workspace).where(Workspace.connect_token == token)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_connect_token(self, workspace_id: uuid.UUID, token: str) -> str:
        """Sets the token unless one exists; concurrent first calls agree on one."""
        await self.session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id, Workspace.connect_token.is_(None))
            .values(connect_token=token)
        )
        stmt = select(Workspace.connect_token).where(Workspace.id == workspace_id)
        return str((await self.session.execute(stmt)).scalar_one())


class CredentialRepository:
    """The one lookup across workspaces: which active key a caller presents (by its digest)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find_active_by_hash(self, key_hash: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def touch(self, key: ApiKey, at: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.workspace_id == key.workspace_id, ApiKey.id == key.id).values(last_used_at=at)
        )


class ApiKeyRepository:
    """API keys of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, key: ApiKey) -> ApiKey:
        key.workspace_id = self.workspace_id
        self.session.add(key)
        await self.session.flush()
        return key

    async def list(self, params: PageParams) -> tuple[list[Any], str | None]:
        stmt = select(ApiKey).where(ApiKey.workspace_id == self.workspace_id, ApiKey.revoked_at.is_(None))
        rows = list((await self.session.execute(keyset(stmt, params, ApiKey.created_at, ApiKey.id))).scalars())
        return build_page(rows, params)

    async def get(self, key_id: uuid.UUID) -> ApiKey | None:
        stmt = select(ApiKey).where(
            ApiKey.workspace_id == self.workspace_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
