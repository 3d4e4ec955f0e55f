from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import Connection, ConnectionStatus, Grant
from loupe.influencers.models import Influencer
from loupe.invites.models import Invite
from loupe.kit.pagination import PageParams, build_page, encode_cursor, keyset
from loupe.trackings.models import Tracking, TrackingProfile


def follows(profile: Any, connection: Any) -> Any:
    """A tracked profile is a connected account when the platform's user id or the handle is the same."""
    return and_(
        connection.platform == profile.platform,
        or_(
            connection.platform_user_id == profile.platform_user_id,
            func.lower(connection.username) == func.lower(profile.handle),
        ),
    )


@dataclass
class ProfileView:
    profile: TrackingProfile
    influencer_name: str | None
    api_access: bool
    invite_status: str | None


class TrackingRepository:
    """Trackings of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, tracking: Tracking) -> Tracking:
        tracking.workspace_id = self.workspace_id
        self.session.add(tracking)
        await self.session.flush()
        return tracking

    async def get(self, tracking_id: uuid.UUID) -> Tracking | None:
        stmt = select(Tracking).where(Tracking.workspace_id == self.workspace_id, Tracking.id == tracking_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, report_id: uuid.UUID, params: PageParams) -> tuple[builtins.list[Tracking], str | None]:
        stmt = select(Tracking).where(Tracking.workspace_id == self.workspace_id, Tracking.report_id == report_id)
        rows = list((await self.session.execute(keyset(stmt, params, Tracking.created_at, Tracking.id))).scalars())
        return build_page(rows, params)

    async def delete(self, tracking: Tracking) -> None:
        await self.session.delete(tracking)
        await self.session.flush()

    async def handles(self, tracking_id: uuid.UUID) -> dict[str, uuid.UUID]:
        stmt = select(TrackingProfile.handle, TrackingProfile.id).where(
            TrackingProfile.workspace_id == self.workspace_id, TrackingProfile.tracking_id == tracking_id
        )
        return {handle: id_ for handle, id_ in (await self.session.execute(stmt)).all()}

    async def add_profiles(self, rows: Sequence[dict[str, Any]]) -> dict[str, uuid.UUID]:
        """Inserts what is not there yet (a concurrent request adding the same handle wins, not doubles);
        returns handle → id of the rows this statement added."""
        if not rows:
            return {}
        stmt = (
            pg_insert(TrackingProfile)
            .values([{**row, "workspace_id": self.workspace_id} for row in rows])
            .on_conflict_do_nothing(index_elements=["tracking_id", "handle"])
            .returning(TrackingProfile.handle, TrackingProfile.id)
        )
        return {handle: id_ for handle, id_ in (await self.session.execute(stmt)).all()}

    async def remove_profiles(self, tracking_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]) -> int:
        stmt = delete(TrackingProfile).where(
            TrackingProfile.workspace_id == self.workspace_id,
            TrackingProfile.tracking_id == tracking_id,
            TrackingProfile.id.in_(list(profile_ids)),
        )
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def profiles(
        self, tracking_id: uuid.UUID, params: PageParams
    ) -> tuple[builtins.list[ProfileView], str | None]:
        granted = (
            select(Grant.influencer_id)
            .join(Connection, Connection.id == Grant.connection_id)
            .where(
                Grant.workspace_id == self.workspace_id,
                Grant.status == ConnectionStatus.active.value,
                Connection.status == ConnectionStatus.active.value,
                follows(TrackingProfile, Connection),
            )
            .limit(1)
            .correlate(TrackingProfile)
            .scalar_subquery()
        )
        influencer = func.coalesce(TrackingProfile.influencer_id, granted)
        invite = (
            select(Invite.status)
            .where(Invite.workspace_id == self.workspace_id, Invite.influencer_id == influencer)
            .order_by(Invite.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        name = select(Influencer.name).where(Influencer.id == influencer).scalar_subquery()
        stmt = select(TrackingProfile, name, granted.is_not(None), invite).where(
            TrackingProfile.workspace_id == self.workspace_id, TrackingProfile.tracking_id == tracking_id
        )
        rows = (await self.session.execute(keyset(stmt, params, TrackingProfile.created_at, TrackingProfile.id))).all()
        views = [ProfileView(*row) for row in rows]
        items = views[: params.limit]
        more = len(views) > params.limit and items
        return items, encode_cursor(items[-1].profile.created_at, items[-1].profile.id) if more else None
