from __future__ import annotations

import builtins
import uuid
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from loupe.campaigns.creators.models import CampaignCreator, Stage
from loupe.kit.pagination import PageParams, build_page, keyset


class CreatorRepository:
    """Creators of one workspace's campaigns; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _select(self, campaign_id: uuid.UUID) -> Select[CampaignCreator]:
        return (
            select(CampaignCreator)
            .where(CampaignCreator.workspace_id == self.workspace_id, CampaignCreator.campaign_id == campaign_id)
            .options(joinedload(CampaignCreator.influencer, innerjoin=True))
        )

    async def get(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID) -> CampaignCreator | None:
        stmt = self._select(campaign_id).where(CampaignCreator.influencer_id == influencer_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def member_ids(
        self,
        campaign_id: uuid.UUID,
        influencer_ids: Iterable[uuid.UUID] | None = None,
        stages: Collection[Stage] | None = None,
    ) -> builtins.list[uuid.UUID]:
        """Which of the influencers (or, with None, of all) are creators of the campaign, at one of `stages`."""
        stmt = select(CampaignCreator.influencer_id).where(
            CampaignCreator.workspace_id == self.workspace_id, CampaignCreator.campaign_id == campaign_id
        )
        if influencer_ids is not None:
            stmt = stmt.where(CampaignCreator.influencer_id.in_(list(influencer_ids)))
        if stages is not None:
            stmt = stmt.where(CampaignCreator.stage.in_([s.value for s in stages]))
        return list(await self.session.scalars(stmt.order_by(CampaignCreator.influencer_id)))

    async def add_all(
        self, campaign_id: uuid.UUID, influencer_ids: builtins.list[uuid.UUID]
    ) -> builtins.list[CampaignCreator]:
        """Adds the influencers not in the campaign yet (one added concurrently is skipped); returns the
        creators added, in the order given, loaded with their influencers in one query."""
        rows = [
            {"workspace_id": self.workspace_id, "campaign_id": campaign_id, "influencer_id": i} for i in influencer_ids
        ]
        insert = pg_insert(CampaignCreator).on_conflict_do_nothing(index_elements=["campaign_id", "influencer_id"])
        added = set(await self.session.scalars(insert.returning(CampaignCreator.id), rows))
        creators = await self.session.scalars(
            self._select(campaign_id).where(CampaignCreator.id.in_(added)).execution_options(populate_existing=True)
        )
        by_influencer = {creator.influencer_id: creator for creator in creators}
        return [by_influencer[i] for i in influencer_ids if i in by_influencer]

    async def list(
        self,
        campaign_id: uuid.UUID,
        params: PageParams,
        stage: Stage | None,
        authenticated: bool | None = None,
        authenticated_ids: Any = None,
    ) -> tuple[builtins.list[CampaignCreator], str | None]:
        """`authenticated_ids`: a SELECT of the workspace's authenticated influencer ids (None: nobody is)."""
        stmt = self._select(campaign_id)
        if stage is not None:
            stmt = stmt.where(CampaignCreator.stage == stage.value)
        if authenticated is not None:
            ids = (
                authenticated_ids
                if authenticated_ids is not None
                else select(CampaignCreator.influencer_id).where(false())
            )
            member = CampaignCreator.influencer_id.in_(ids)
            stmt = stmt.where(member if authenticated else ~member)
        page = keyset(stmt, params, CampaignCreator.created_at, CampaignCreator.id)
        rows = list(await self.session.scalars(page))
        return build_page(rows, params)

    async def delete(self, creator: CampaignCreator) -> None:
        await self.session.delete(creator)
        await self.session.flush()
