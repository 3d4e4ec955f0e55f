"""SQL of connections. `ConnectionRepository`, `AttemptRepository` and `DeletionRepository` are global by
nature (a platform account is one row whatever the workspaces; a callback's `state` or a platform's
deletion request arrives before any workspace is known); grants and failures are per workspace."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import (
    ConnectAttempt,
    Connection,
    ConnectionFailure,
    ConnectionStatus,
    DeletionRequest,
    Grant,
)
from loupe.influencers.models import Influencer
from loupe.kit.db import like_contains, utcnow
from loupe.kit.pagination import PageParams, build_page, keyset

TOKEN_FIELDS = ("access_token_enc", "refresh_token_enc")


class ConnectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, connection_id: uuid.UUID) -> Connection | None:
        return await self.session.get(Connection, connection_id)

    async def get_many(self, ids: Iterable[uuid.UUID]) -> builtins.list[Connection]:
        ids = list(ids)
        if not ids:
            return []
        return list(await self.session.scalars(select(Connection).where(Connection.id.in_(ids))))

    async def ids_of(self, platform: str, account_ids: Sequence[str]) -> builtins.list[uuid.UUID]:
        stmt = select(Connection.id).where(
            Connection.platform == platform, Connection.platform_user_id.in_(list(account_ids))
        )
        return list(await self.session.scalars(stmt))

    async def upsert(self, values: dict[str, Any]) -> Connection:
        """One row per (platform, account): connecting again updates its tokens and profile."""
        changing = {k: v for k, v in values.items() if k not in ("platform", "platform_user_id")}
        stmt = (
            pg_insert(Connection)
            .values(id=uuid.uuid4(), **values)
            .on_conflict_do_update(
                index_elements=[Connection.platform, Connection.platform_user_id],
                set_={**changing, "updated_at": func.now()},
            )
            .returning(Connection)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def by_authorizing_user(self, platforms: Sequence[str], user_id: str) -> builtins.list[Connection]:
        stmt = select(Connection).where(
            Connection.platform.in_(platforms),
            or_(Connection.authorizing_user_id == user_id, Connection.platform_user_id == user_id),
        )
        return list(await self.session.scalars(stmt))

    async def set_status(
        self, ids: Sequence[uuid.UUID], status: ConnectionStatus, *, wipe_tokens: bool, why: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "updated_at": func.now(), "last_error": why}
        if wipe_tokens:
            values.update(dict.fromkeys(TOKEN_FIELDS))
        await self.session.execute(update(Connection).where(Connection.id.in_(ids)).values(**values))

    async def delete(self, ids: Sequence[uuid.UUID]) -> None:
        await self.session.execute(delete(Connection).where(Connection.id.in_(ids)))

    async def grants_of(self, ids: Sequence[uuid.UUID]) -> builtins.list[Grant]:
        """Every workspace's grant of these connections (platform callbacks act on all of them)."""
        return list(await self.session.scalars(select(Grant).where(Grant.connection_id.in_(ids))))

    async def follow_connection(self, ids: Sequence[uuid.UUID], status: ConnectionStatus) -> None:
        """Grants still connected take the connection's new status; disconnected ones stay disconnected."""
        await self.session.execute(
            update(Grant)
            .where(Grant.connection_id.in_(ids), Grant.status != ConnectionStatus.disconnected.value)
            .values(status=status.value, updated_at=func.now())
        )

    async def encrypted_batch(self, after: uuid.UUID | None, size: int) -> builtins.list[Row[Any]]:
        stmt = select(Connection.id, *(getattr(Connection, f) for f in TOKEN_FIELDS)).order_by(Connection.id)
        if after is not None:
            stmt = stmt.where(Connection.id > after)
        return list((await self.session.execute(stmt.limit(size).with_for_update())).all())

    async def store_encrypted(self, connection_id: uuid.UUID, values: dict[str, str | None]) -> None:
        await self.session.execute(update(Connection).where(Connection.id == connection_id).values(**values))


class AttemptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, attempt: ConnectAttempt) -> None:
        self.session.add(attempt)
        await self.session.flush()

    async def by_state(self, state_hash: str) -> ConnectAttempt | None:
        stmt = select(ConnectAttempt).where(ConnectAttempt.state_hash == state_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_choice(self, choice_hash: str) -> ConnectAttempt | None:
        stmt = select(ConnectAttempt).where(ConnectAttempt.choice_hash == choice_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def purge_before(self, moment: datetime) -> int:
        result = await self.session.execute(delete(ConnectAttempt).where(ConnectAttempt.expires_at < moment))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class DeletionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: DeletionRequest) -> None:
        self.session.add(request)
        await self.session.flush()

    async def by_code(self, code: str) -> DeletionRequest | None:
        stmt = select(DeletionRequest).where(DeletionRequest.confirmation_code == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()


@dataclass
class GrantFilters:
    platform: str | None = None
    status: str | None = None
    q: str | None = None


class GrantRepository:
    """One workspace's view of connections."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _views(self) -> Any:  # Select[Grant, Connection, Influencer]
        return (
            select(Grant, Connection, Influencer)
            .join(Connection, Connection.id == Grant.connection_id)
            .join(Influencer, Influencer.id == Grant.influencer_id)
            .where(Grant.workspace_id == self.workspace_id)
        )

    async def view(self, grant_id: uuid.UUID) -> Any:
        return (await self.session.execute(self._views().where(Grant.id == grant_id))).one_or_none()

    async def views(self, params: PageParams, filters: GrantFilters) -> tuple[builtins.list[Any], str | None]:
        stmt = self._views()
        if filters.platform:
            stmt = stmt.where(Connection.platform == filters.platform)
        if filters.status:
            stmt = stmt.where(Grant.status == filters.status)
        if filters.q:
            pattern = like_contains(filters.q.lower())
            stmt = stmt.where(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (Influencer.name, Influencer.email, Connection.username)
                    )
                )
            )
        rows = (await self.session.execute(keyset(stmt, params, Grant.created_at, Grant.id))).all()
        return build_page([_Keyed(row) for row in rows], params)

    async def of_invite(self, invite_id: uuid.UUID) -> builtins.list[Any]:
        stmt = self._views().where(Grant.invite_id == invite_id).order_by(Connection.platform, Grant.created_at)
        return list((await self.session.execute(stmt)).all())

    async def statuses_of_invites(self, invite_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, builtins.list[str]]:
        stmt = select(Grant.invite_id, Grant.status).where(
            Grant.workspace_id == self.workspace_id, Grant.invite_id.in_(list(invite_ids))
        )
        out: dict[uuid.UUID, builtins.list[str]] = {}
        for invite_id, status in (await self.session.execute(stmt)).all():
            out.setdefault(invite_id, []).append(status)
        return out

    async def get_for_connection(self, connection_id: uuid.UUID, *, lock: bool = False) -> Grant | None:
        stmt = select(Grant).where(Grant.workspace_id == self.workspace_id, Grant.connection_id == connection_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    @staticmethod
    def authenticated_influencers(workspace_id: uuid.UUID) -> Select[Any]:
        """Influencers of the workspace with an active grant of a healthy (active) connection."""
        return (
            select(Grant.influencer_id)
            .join(Connection, Connection.id == Grant.connection_id)
            .where(
                Grant.workspace_id == workspace_id,
                Grant.status == ConnectionStatus.active.value,
                Connection.status == ConnectionStatus.active.value,
            )
        )

    async def count_active(self, *, lock: bool = False) -> int:
        if lock:  # concurrent connections of one workspace queue here, so the limit holds under races
            await self.session.execute(
                select(func.pg_advisory_xact_lock(func.hashtextextended(str(self.workspace_id), 0)))
            )
        stmt = select(func.count()).where(
            Grant.workspace_id == self.workspace_id, Grant.status == ConnectionStatus.active.value
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def upsert(self, connection_id: uuid.UUID, invite_id: uuid.UUID, influencer_id: uuid.UUID) -> Grant:
        now = utcnow()
        stmt = (
            pg_insert(Grant)
            .values(
                id=uuid.uuid4(),
                workspace_id=self.workspace_id,
                connection_id=connection_id,
                invite_id=invite_id,
                influencer_id=influencer_id,
                status=ConnectionStatus.active.value,
                connected_at=now,
            )
            .on_conflict_do_update(
                index_elements=[Grant.workspace_id, Grant.connection_id],
                set_={
                    "invite_id": invite_id,
                    "influencer_id": influencer_id,
                    "status": ConnectionStatus.active.value,
                    "connected_at": now,
                    "disconnected_at": None,
                    "updated_at": func.now(),
                },
            )
            .returning(Grant)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def failures(
        self, params: PageParams, invite_id: uuid.UUID | None, platform: str | None
    ) -> tuple[builtins.list[ConnectionFailure], str | None]:
        stmt = select(ConnectionFailure).where(ConnectionFailure.workspace_id == self.workspace_id)
        if invite_id is not None:
            stmt = stmt.where(ConnectionFailure.invite_id == invite_id)
        if platform is not None:
            stmt = stmt.where(ConnectionFailure.platform == platform)
        rows = list(
            await self.session.scalars(keyset(stmt, params, ConnectionFailure.created_at, ConnectionFailure.id))
        )
        return build_page(rows, params)

    async def add_failure(self, invite_id: uuid.UUID, platform: str, reason: str, message: str) -> None:
        self.session.add(
            ConnectionFailure(
                workspace_id=self.workspace_id, invite_id=invite_id, platform=platform, reason=reason, message=message
            )
        )
        await self.session.flush()


class _Keyed:
    """A (grant, connection, influencer) row that pages like a grant."""

    def __init__(self, row: Any) -> None:
        self.grant, self.connection, self.influencer = row
        self.created_at = self.grant.created_at
        self.id = self.grant.id
