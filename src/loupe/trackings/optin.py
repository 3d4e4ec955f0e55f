"""The tracking's opt-in link: the workspace's connect link bound to the tracking (`?tracking=<id>`). A
creator who gives their name through it has their invite bound to the tracking, and every account they then
connect on the tracking's network joins its profiles (in the granting transaction)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.flow import account_granted
from loupe.connections.models import Connection, Grant
from loupe.connections.pages import joined_for
from loupe.invites.models import Invite
from loupe.trackings.models import Tracking, TrackingInvite, TrackingProfile


def link(base_url: str, connect_token: str, tracking_id: uuid.UUID) -> str:
    return f"{base_url.rstrip('/')}/connect/w/{connect_token}?tracking={tracking_id}"


@joined_for.attach
async def bind_invite(session: AsyncSession, invite: Invite, binding: str) -> None:
    try:
        tracking_id = uuid.UUID(binding)
    except ValueError:
        return  # not a tracking's link: the invite stands alone
    found = await session.scalar(
        select(Tracking.id).where(Tracking.id == tracking_id, Tracking.workspace_id == invite.workspace_id)
    )
    if found is not None:
        stmt = pg_insert(TrackingInvite).values(tracking_id=found, invite_id=invite.id).on_conflict_do_nothing()
        await session.execute(stmt)


@account_granted.attach
async def follow_granted_account(session: AsyncSession, grant: Grant, connection: Connection) -> None:
    bound = select(TrackingInvite.tracking_id).where(TrackingInvite.invite_id == grant.invite_id)
    trackings = list(
        await session.scalars(
            select(Tracking.id).where(
                Tracking.id.in_(bound),
                Tracking.workspace_id == grant.workspace_id,
                Tracking.network == connection.platform,
            )
        )
    )
    if not trackings:
        return
    handle = (connection.username or connection.platform_user_id).lower()
    rows = [
        {
            "workspace_id": grant.workspace_id,
            "tracking_id": tracking_id,
            "platform": connection.platform,
            "handle": handle,
            "platform_user_id": connection.platform_user_id,
            "influencer_id": grant.influencer_id,
        }
        for tracking_id in trackings
    ]
    stmt = pg_insert(TrackingProfile).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tracking_id", "handle"],
            set_={
                "platform_user_id": stmt.excluded.platform_user_id,
                "influencer_id": func.coalesce(TrackingProfile.influencer_id, stmt.excluded.influencer_id),
            },
        )
    )
