from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text, update
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
        workspace = await self.session.get(Workspace, workspace_id)
        return workspace if workspace is not None and workspace.deleted_at is None else None

    async def mark_deleted(self, workspace: Workspace, at: datetime) -> None:
        """Out of everyone's reach at once: its keys revoked, its connect link and organization dropped."""
        workspace.deleted_at = at
        workspace.connect_token = None
        workspace.organization_id = None
        await self.session.execute(
            update(ApiKey).where(ApiKey.workspace_id == workspace.id, ApiKey.revoked_at.is_(None)).values(revoked_at=at)
        )
        await self.session.flush()

    async def deleted_before(self, before: datetime) -> list[uuid.UUID]:
        stmt = select(Workspace.id).where(Workspace.deleted_at < before).order_by(Workspace.deleted_at)
        return list((await self.session.execute(stmt)).scalars())

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


class WorkspaceEraser:
    """Erases a deleted workspace: first its rows in the tables that name a workspace without a foreign key to
    it (clicks and their roll-ups, kept without one for the flush's speed), one table or partition per
    transaction (row locks on its own rows only: writers of other workspaces never wait); then the workspace
    row, whose foreign keys cascade to everything else."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def erase(self, workspace_id: uuid.UUID) -> int:
        erased = 0
        for table in await self._loose_tables():
            async with self.engine.begin() as conn:
                deleted = await conn.execute(
                    text(f'DELETE FROM "{table}" WHERE workspace_id = :w'), {"w": workspace_id}
                )
            erased += deleted.rowcount or 0
        async with self.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM workspaces WHERE id = :w AND deleted_at IS NOT NULL"), {"w": workspace_id}
            )
        return erased

    async def _loose_tables(self) -> list[str]:
        """Plain tables and leaf partitions (a ctid names a row only within one of them) with a workspace_id
        column but no foreign key from it to workspaces."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text("""
                    SELECT c.relname FROM pg_attribute a
                    JOIN pg_class c ON c.oid = a.attrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
                    WHERE a.attname = 'workspace_id' AND NOT a.attisdropped AND c.relkind = 'r'
                      AND c.relname <> 'workspaces'
                      AND NOT EXISTS (
                          SELECT 1 FROM pg_constraint f
                          WHERE f.conrelid = c.oid AND f.contype = 'f' AND a.attnum = ANY(f.conkey)
                            AND f.confrelid = 'workspaces'::regclass)
                    ORDER BY c.relname
                """)
            )
            return [r[0] for r in rows]
