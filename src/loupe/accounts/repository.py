"""SQL of account data. Keyed by connection (global, like connections: several workspaces may read one
account); reads go through the caller's grant (`loupe.accounts.service`). Every write is an upsert, so a
job that runs twice leaves the same rows."""

from __future__ import annotations

import builtins
import functools
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.models import (
    AccountAudience,
    AccountContent,
    AccountProfile,
    ContentMetricSnapshot,
    ProfileSnapshot,
)
from loupe.connections.models import Connection, ConnectionStatus


class AccountDataRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    @functools.cache
    def _upsert_statement(model: Any, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
        """INSERT … ON CONFLICT DO UPDATE over the Core table, run as an executemany: one compiled statement
        per shape, cached, however many rows (a multi-row VALUES is compiled anew for every row count, and
        compiling was most of a refresh's CPU)."""
        table = model.__table__
        stmt = pg_insert(table)
        changing: dict[str, Any] = {c: stmt.excluded[c] for c in columns if c not in keys}
        if "updated_at" in table.c:
            changing["updated_at"] = func.now()
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=changing)

    async def _upsert(self, model: Any, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(self._upsert_statement(model, tuple(keys), tuple(rows[0])), list(rows))

    async def save_profile(self, values: dict[str, Any], snapshot: dict[str, Any]) -> None:
        await self._upsert(AccountProfile, ["connection_id"], [values])
        await self._upsert(ProfileSnapshot, ["connection_id", "taken_on"], [snapshot])

    async def save_audience(self, values: dict[str, Any]) -> None:
        await self._upsert(AccountAudience, ["connection_id"], [values])

    async def save_contents(self, rows: builtins.list[dict[str, Any]]) -> dict[str, uuid.UUID]:
        """Upserts by (connection, platform id); returns platform id → our id.

        A plain executemany, then one look-up by array: with RETURNING, SQLAlchemy batches an executemany
        into a multi-row VALUES whose text differs with every row count, and the driver prepared (and kept,
        per connection) one statement per count: the worker's memory grew with every account refreshed."""
        if not rows:
            return {}
        keys = ("connection_id", "platform_content_id")
        stmt = self._upsert_statement(AccountContent, keys, tuple(rows[0]))  # ids of new rows only
        await self.session.execute(stmt, [{"id": uuid.uuid4(), **row} for row in rows])
        found = select(AccountContent.platform_content_id, AccountContent.id).where(
            AccountContent.connection_id == rows[0]["connection_id"],
            AccountContent.platform_content_id == any_(bindparam("pids", type_=ARRAY(String))),
        )
        result = await self.session.execute(found, {"pids": [row["platform_content_id"] for row in rows]})
        return {pid: cid for pid, cid in result.all()}

    async def save_metrics(self, metrics: dict[uuid.UUID, dict[str, Any]], at: datetime, day: date) -> None:
        """The latest metrics on each content (one executemany), and today's snapshot of them."""
        if not metrics:
            return
        table = AccountContent.__table__  # Core: one executemany, not the ORM's per-row bulk path
        stmt = (
            update(table)  # type: ignore[arg-type]
            .where(table.c.id == bindparam("content_id"))
            .values(metrics=bindparam("values"), metrics_at=at, updated_at=func.now())
        )
        await self.session.execute(stmt, [{"content_id": k, "values": v} for k, v in metrics.items()])
        await self._upsert(
            ContentMetricSnapshot,
            ["content_id", "taken_on"],
            [{"content_id": k, "taken_on": day, "taken_at": at, "metrics": v} for k, v in metrics.items()],
        )

    async def recent_contents(self, connection_id: uuid.UUID, since: datetime) -> dict[str, uuid.UUID]:
        """Posts, videos and the like published since then; stories are left to the story poll and the
        story_insights webhook (an expired story's insights are empty, and would erase its last figures)."""
        stmt = select(AccountContent.platform_content_id, AccountContent.id).where(
            AccountContent.connection_id == connection_id,
            AccountContent.published_at >= since,
            AccountContent.type != "story",
        )
        return {pid: cid for pid, cid in (await self.session.execute(stmt)).all()}

    async def latest_published(self, connection_id: uuid.UUID) -> datetime | None:
        stmt = select(func.max(AccountContent.published_at)).where(AccountContent.connection_id == connection_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def contents_by_platform_id(
        self, connection_id: uuid.UUID, platform_ids: Sequence[str]
    ) -> dict[str, AccountContent]:
        """The stored contents of these platform ids (stories: their media and extras are kept across polls)."""
        if not platform_ids:
            return {}
        stmt = select(AccountContent).where(
            AccountContent.connection_id == connection_id,
            AccountContent.platform_content_id.in_(list(platform_ids)),
        )
        rows = (await self.session.execute(stmt.execution_options(populate_existing=True))).scalars()
        return {row.platform_content_id: row for row in rows}

    async def set_media(self, content_id: uuid.UUID, media: builtins.list[dict[str, Any]]) -> None:
        await self.session.execute(
            update(AccountContent).where(AccountContent.id == content_id).values(media=media, updated_at=func.now())
        )

    async def story_of(self, platform: str, platform_user_id: str, media_id: str) -> AccountContent | None:
        """A story by its account's platform id and its media id (a Meta webhook names nothing else); locked,
        so two deliveries of the same story apply one after the other."""
        stmt = (
            select(AccountContent)
            .join(Connection, Connection.id == AccountContent.connection_id)
            .where(
                Connection.platform == platform,
                Connection.platform_user_id == platform_user_id,
                AccountContent.platform_content_id == media_id,
                AccountContent.type == "story",
            )
            .with_for_update(of=AccountContent)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def save_final_metrics(
        self, content_id: uuid.UUID, metrics: dict[str, Any], extras: dict[str, Any], at: datetime, day: date
    ) -> None:
        await self.session.execute(
            update(AccountContent)
            .where(AccountContent.id == content_id)
            .values(metrics=metrics, metrics_at=at, extras=extras, updated_at=func.now())
        )
        await self._upsert(
            ContentMetricSnapshot,
            ["content_id", "taken_on"],
            [{"content_id": content_id, "taken_on": day, "taken_at": at, "metrics": metrics}],
        )


class RefreshRepository:
    """The refresh schedule on connections."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due(self, now: datetime, limit: int) -> builtins.list[tuple[uuid.UUID, datetime | None]]:
        stmt = (
            select(Connection.id, Connection.next_refresh_at)
            .where(Connection.status == ConnectionStatus.active.value, Connection.next_refresh_at <= now)
            .order_by(Connection.next_refresh_at)
            .limit(limit)
        )
        return [(cid, at) for cid, at in (await self.session.execute(stmt)).all()]

    async def get(self, connection_id: uuid.UUID) -> Connection | None:
        return await self.session.get(Connection, connection_id, populate_existing=True)

    async def active_of(self, platform: str) -> builtins.list[Connection]:
        stmt = (
            select(Connection)
            .where(Connection.platform == platform, Connection.status == ConnectionStatus.active.value)
            .order_by(Connection.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def clear_error(self, connection_id: uuid.UUID, prefix: str) -> None:
        """Forget the connection's last error if this job recorded it (another job's error stays)."""
        await self.session.execute(
            update(Connection)
            .where(Connection.id == connection_id, Connection.last_error.startswith(prefix, autoescape=True))
            .values(last_error=None, updated_at=func.now())
        )

    async def done(self, connection_id: uuid.UUID, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(Connection).where(Connection.id == connection_id).values(**values, updated_at=func.now())
        )
