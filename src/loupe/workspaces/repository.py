from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

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

    async def many(self, workspace_ids: list[uuid.UUID]) -> dict[uuid.UUID, Workspace]:
        if not workspace_ids:
            return {}
        rows = await self.session.execute(select(Workspace).where(Workspace.id.in_(workspace_ids)))
        return {w.id: w for w in rows.scalars()}

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

    async def touch(self, key: ApiKey, at: datetime, older_than: datetime) -> None:
        """Records the use on a connection of its own, committed at once: inside the request's transaction
        the row lock would queue every other request of the key behind this one until it ends. Only one
        of concurrent requests writes (the others find the fresh value and change nothing)."""
        stmt = (
            update(ApiKey)
            .where(
                ApiKey.workspace_id == key.workspace_id,
                ApiKey.id == key.id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < older_than),
            )
            .values(last_used_at=at, updated_at=ApiKey.updated_at)  # a use, not an edit of the key
        )
        engine = self.session.bind
        if not isinstance(engine, AsyncEngine):  # a session bound to one connection has no other to use
            await self.session.execute(stmt)
        else:
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(stmt)
        set_committed_value(key, "last_used_at", at)  # as stored; the request's flush leaves it alone


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
