from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.pagination import PageParams, build_page, keyset
from loupe.links import codes
from loupe.links.models import LinkKind, TrackingLink

CODE_CONSTRAINT = "uq_tracking_links_code"


class CodeSpaceExhausted(RuntimeError):
    pass


def _constraint(exc: IntegrityError) -> str | None:
    return getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)


@dataclass(frozen=True)
class LinkFilters:
    campaign_id: uuid.UUID | None = None
    influencer_id: uuid.UUID | None = None
    label: str | None = None
    archived: bool | None = None
    kind: LinkKind | None = None


class LinkRepository:
    """Tracking links of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def insert_with_codes(
        self, rows: builtins.list[dict[str, Any]], *, skip_existing_copies: bool = False
    ) -> builtins.list[TrackingLink]:
        """Inserts code-bearing links of this workspace in one statement, in a savepoint, drawing new codes on a
        clash (without losing the rest of the transaction). With `skip_existing_copies`, a copy of a
        campaign-level link that its creator already has (another transaction just made it) is skipped."""
        stmt: Any = pg_insert(TrackingLink)
        if skip_existing_copies:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=["parent_link_id", "influencer_id"], index_where=TrackingLink.parent_link_id.isnot(None)
            )
        for _ in range(codes.MAX_ATTEMPTS):
            coded = [{**row, "workspace_id": self.workspace_id, "code": codes.new_code()} for row in rows]
            try:
                async with self.session.begin_nested():
                    return list(await self.session.scalars(stmt.returning(TrackingLink), coded))
            except IntegrityError as exc:
                if _constraint(exc) != CODE_CONSTRAINT:
                    raise
        raise CodeSpaceExhausted("could not draw unused link codes")

    async def live_campaign_links(
        self, campaign_id: uuid.UUID, parent_ids: Iterable[uuid.UUID] | None = None
    ) -> builtins.list[TrackingLink]:
        """The campaign's live campaign-level links (or those of `parent_ids`), locked FOR SHARE: an edit or
        archive in flight is waited for and then seen (populate_existing), so no copy is made of an archived
        link or with a destination being replaced; an edit or archive that comes second waits for the copies
        made meanwhile, then updates them too."""
        stmt = (
            select(TrackingLink)
            .where(
                TrackingLink.workspace_id == self.workspace_id,
                TrackingLink.campaign_id == campaign_id,
                TrackingLink.kind == LinkKind.campaign.value,
                TrackingLink.archived_at.is_(None),
            )
            .order_by(TrackingLink.created_at, TrackingLink.id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
        if parent_ids is not None:
            stmt = stmt.where(TrackingLink.id.in_(list(parent_ids)))
        return list(await self.session.scalars(stmt))

    async def copies_of(
        self, parent_ids: Iterable[uuid.UUID], influencer_ids: Iterable[uuid.UUID]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """(campaign-level link, creator) pairs that already have a copy, archived ones included."""
        rows = await self.session.execute(
            select(TrackingLink.parent_link_id, TrackingLink.influencer_id).where(
                TrackingLink.workspace_id == self.workspace_id,
                TrackingLink.parent_link_id.in_(list(parent_ids)),
                TrackingLink.influencer_id.in_(list(influencer_ids)),
            )
        )
        return {(parent_id, influencer_id) for parent_id, influencer_id in rows if parent_id and influencer_id}

    async def add(self, link: TrackingLink) -> TrackingLink:
        link.workspace_id = self.workspace_id
        self.session.add(link)
        await self.session.flush()
        return link

    async def get(self, link_id: uuid.UUID, *, for_update: bool = False) -> TrackingLink | None:
        stmt = select(TrackingLink).where(TrackingLink.workspace_id == self.workspace_id, TrackingLink.id == link_id)
        if for_update:
            # The locked row as committed now, even if this session loaded it before.
            # FOR NO KEY UPDATE: waits for copy generation (FOR SHARE) but not for clicks referring to the link.
            stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, params: PageParams, filters: LinkFilters) -> tuple[list[TrackingLink], str | None]:
        stmt = select(TrackingLink).where(TrackingLink.workspace_id == self.workspace_id)
        if filters.campaign_id:
            stmt = stmt.where(TrackingLink.campaign_id == filters.campaign_id)
        if filters.influencer_id:
            stmt = stmt.where(TrackingLink.influencer_id == filters.influencer_id)
        if filters.label:
            stmt = stmt.where(TrackingLink.labels.contains([filters.label]))
        if filters.archived is not None:
            archived = TrackingLink.archived_at.isnot(None)
            stmt = stmt.where(archived if filters.archived else ~archived)
        if filters.kind:
            stmt = stmt.where(TrackingLink.kind == filters.kind.value)
        rows = list(await self.session.scalars(keyset(stmt, params, TrackingLink.created_at, TrackingLink.id)))
        return build_page(rows, params)

    async def live_for_creator(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID) -> builtins.list[TrackingLink]:
        """The links a creator can share in a campaign: their copies and their creator-level links."""
        stmt = (
            select(TrackingLink)
            .where(
                TrackingLink.workspace_id == self.workspace_id,
                TrackingLink.campaign_id == campaign_id,
                TrackingLink.influencer_id == influencer_id,
                TrackingLink.archived_at.is_(None),
            )
            .order_by(TrackingLink.created_at, TrackingLink.id)
        )
        return list(await self.session.scalars(stmt))

    async def name_taken(
        self, campaign_id: uuid.UUID, name: str, *, influencer_id: uuid.UUID | None, exclude: uuid.UUID | None
    ) -> bool:
        """Whether a live link would answer the same `{{tracking_link:<name>}}`: a campaign-level link of the
        campaign, or a creator-level link (of this creator, or of any creator when `influencer_id` is None)."""
        own = TrackingLink.parent_link_id.is_(None) & (TrackingLink.kind == LinkKind.creator.value)
        if influencer_id is not None:
            own = own & (TrackingLink.influencer_id == influencer_id)
        stmt = select(TrackingLink.id).where(
            TrackingLink.workspace_id == self.workspace_id,
            TrackingLink.campaign_id == campaign_id,
            TrackingLink.archived_at.is_(None),
            func.lower(TrackingLink.name) == name.lower(),
            or_(TrackingLink.kind == LinkKind.campaign.value, own),
        )
        if exclude is not None:
            stmt = stmt.where(TrackingLink.id != exclude)
        return (await self.session.scalar(stmt.limit(1))) is not None

    async def update_copies(self, parent: TrackingLink, values: dict[str, object]) -> None:
        """Applies a campaign-level link's edit to its live copies."""
        await self.session.execute(
            update(TrackingLink)
            .where(
                TrackingLink.workspace_id == self.workspace_id,
                TrackingLink.parent_link_id == parent.id,
                TrackingLink.archived_at.is_(None),
            )
            .values(**values, updated_at=func.now())
        )

    async def archive_copies(self, parent: TrackingLink, at: datetime) -> None:
        await self.session.execute(
            update(TrackingLink)
            .where(
                TrackingLink.workspace_id == self.workspace_id,
                TrackingLink.parent_link_id == parent.id,
                TrackingLink.archived_at.is_(None),
            )
            .values(archived_at=at, updated_at=at)
        )
