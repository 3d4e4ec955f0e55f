"""Creates links with a fresh code, and the per-creator copies of campaign-level links.

Both run inside the caller's transaction; each insert is one statement in a savepoint, so a code clash
is retried with new codes without losing the rest, and a copy another transaction just made is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.models import CampaignCreator
from loupe.campaigns.stages import PAST_APPLIED
from loupe.links import codes
from loupe.links.models import LINK_FIELDS, LinkKind, TrackingLink

CODE_CONSTRAINT = "uq_tracking_links_code"


class CodeSpaceExhausted(RuntimeError):
    pass


def _constraint(exc: IntegrityError) -> str | None:
    return getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)


async def insert_with_codes(
    session: AsyncSession, rows: list[dict[str, Any]], *, skip_existing_copies: bool = False
) -> list[TrackingLink]:
    """Inserts code-bearing links in one statement, drawing new codes on a clash. With `skip_existing_copies`,
    a copy of a campaign-level link that its creator already has (another transaction made it) is skipped."""
    stmt: Any = pg_insert(TrackingLink)
    if skip_existing_copies:
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["parent_link_id", "influencer_id"], index_where=TrackingLink.parent_link_id.isnot(None)
        )
    for _ in range(codes.MAX_ATTEMPTS):
        coded = [{**row, "code": codes.new_code()} for row in rows]
        try:
            async with session.begin_nested():
                return list(await session.scalars(stmt.returning(TrackingLink), coded))
        except IntegrityError as exc:
            if _constraint(exc) != CODE_CONSTRAINT:
                raise
    raise CodeSpaceExhausted("could not draw unused link codes")


async def insert_with_code(session: AsyncSession, values: dict[str, Any]) -> TrackingLink:
    [link] = await insert_with_codes(session, [values])
    return link


async def ensure_creator_links(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    influencer_ids: Iterable[uuid.UUID] | None = None,
    parent_ids: Iterable[uuid.UUID] | None = None,
    any_stage: bool = False,
) -> list[TrackingLink]:
    """Gives every creator past "applied" (or, with `any_stage`, the creators named) a copy of every live
    campaign-level link of the campaign (or of those named) that they lack. Idempotent. Returns the copies made."""
    # FOR SHARE: an edit or archive of a parent in flight is waited for, and then seen (populate_existing),
    # so no copy is made of an archived link or with a destination being replaced; and an edit or archive
    # that comes second waits for the copies made here, then updates them too.
    live = (
        select(TrackingLink)
        .where(
            TrackingLink.campaign_id == campaign_id,
            TrackingLink.kind == LinkKind.campaign.value,
            TrackingLink.archived_at.is_(None),
        )
        .order_by(TrackingLink.created_at, TrackingLink.id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if parent_ids is not None:
        live = live.where(TrackingLink.id.in_(list(parent_ids)))
    parents = list(await session.scalars(live))
    if not parents:
        return []
    creators = select(CampaignCreator.influencer_id).where(CampaignCreator.campaign_id == campaign_id)
    if influencer_ids is not None:
        creators = creators.where(CampaignCreator.influencer_id.in_(list(influencer_ids)))
    if not any_stage:
        creators = creators.where(CampaignCreator.stage.in_([s.value for s in PAST_APPLIED]))
    members = list(await session.scalars(creators.order_by(CampaignCreator.influencer_id)))
    if not members:
        return []
    pairs = await session.execute(
        select(TrackingLink.parent_link_id, TrackingLink.influencer_id).where(
            TrackingLink.parent_link_id.in_([p.id for p in parents]),
            TrackingLink.influencer_id.in_(members),
        )
    )
    existing = {(parent_id, influencer_id) for parent_id, influencer_id in pairs}
    missing = [
        {
            "id": uuid.uuid4(),
            "workspace_id": parent.workspace_id,
            "campaign_id": campaign_id,
            "influencer_id": influencer_id,
            "parent_link_id": parent.id,
            "kind": LinkKind.creator.value,
            **{field: getattr(parent, field) for field in LINK_FIELDS},
        }
        for parent in parents
        for influencer_id in members
        if (parent.id, influencer_id) not in existing
    ]
    return await insert_with_codes(session, missing, skip_existing_copies=True) if missing else []
