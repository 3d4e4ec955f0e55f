from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.models import Campaign, CampaignCreator, Story
from loupe.kit.pagination import PageParams, build_page, keyset


class CampaignRepository:
    """Campaigns of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, campaign: Campaign) -> Campaign:
        campaign.workspace_id = self.workspace_id
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def get(
        self, campaign_id: uuid.UUID, *, for_update: bool = False, for_delete: bool = False
    ) -> Campaign | None:
        """`for_update` serialises the campaign's writers (FOR NO KEY UPDATE: rows referring to the campaign can
        still be inserted meanwhile, so a writer never deadlocks with them); `for_delete` also waits for those."""
        stmt = select(Campaign).where(Campaign.workspace_id == self.workspace_id, Campaign.id == campaign_id)
        if for_update or for_delete:
            # The locked row as committed now, even if this session loaded it before.
            stmt = stmt.with_for_update(key_share=not for_delete).execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, params: PageParams) -> tuple[list[Campaign], str | None]:
        stmt = select(Campaign).where(Campaign.workspace_id == self.workspace_id)
        rows = list((await self.session.execute(keyset(stmt, params, Campaign.created_at, Campaign.id))).scalars())
        return build_page(rows, params)

    async def delete(self, campaign: Campaign) -> None:
        await self.session.delete(campaign)
        await self.session.flush()


class CreatorRepository:
    """Creators of one campaign (the campaign is already known to belong to the workspace)."""

    def __init__(self, session: AsyncSession, campaign: Campaign) -> None:
        self.session = session
        self.campaign = campaign

    async def get(self, influencer_id: uuid.UUID) -> CampaignCreator | None:
        stmt = select(CampaignCreator).where(
            CampaignCreator.campaign_id == self.campaign.id, CampaignCreator.influencer_id == influencer_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def member_ids(self, influencer_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        stmt = select(CampaignCreator.influencer_id).where(
            CampaignCreator.campaign_id == self.campaign.id, CampaignCreator.influencer_id.in_(list(influencer_ids))
        )
        return set((await self.session.execute(stmt)).scalars())

    async def add_all(self, influencer_ids: builtins.list[uuid.UUID]) -> builtins.list[CampaignCreator]:
        """Adds the influencers not in the campaign yet (one added concurrently is skipped); returns the
        creators added, in the order given, loaded with their influencers in one query."""
        rows = [
            {"workspace_id": self.campaign.workspace_id, "campaign_id": self.campaign.id, "influencer_id": i}
            for i in influencer_ids
        ]
        insert = pg_insert(CampaignCreator).on_conflict_do_nothing(index_elements=["campaign_id", "influencer_id"])
        added = set(await self.session.scalars(insert.returning(CampaignCreator.id), rows))
        creators = await self.session.scalars(
            select(CampaignCreator).where(CampaignCreator.id.in_(added)).execution_options(populate_existing=True)
        )
        by_influencer = {creator.influencer_id: creator for creator in creators}
        return [by_influencer[i] for i in influencer_ids if i in by_influencer]

    async def list(self, params: PageParams, stage: str | None) -> tuple[list[CampaignCreator], str | None]:
        stmt = select(CampaignCreator).where(CampaignCreator.campaign_id == self.campaign.id)
        if stage:
            stmt = stmt.where(CampaignCreator.stage == stage)
        page = keyset(stmt, params, CampaignCreator.created_at, CampaignCreator.id)
        rows = list((await self.session.execute(page)).scalars())
        return build_page(rows, params)

    async def delete(self, creator: CampaignCreator) -> None:
        await self.session.delete(creator)
        await self.session.flush()


class StoryRepository:
    """Captured stories of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, story: Story) -> Story:
        story.workspace_id = self.workspace_id
        self.session.add(story)
        await self.session.flush()
        return story

    async def get(self, campaign_id: uuid.UUID, story_id: uuid.UUID) -> Story | None:
        stmt = select(Story).where(
            Story.workspace_id == self.workspace_id, Story.campaign_id == campaign_id, Story.id == story_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(
        self, campaign_id: uuid.UUID, params: PageParams, influencer_id: uuid.UUID | None
    ) -> tuple[list[Story], str | None]:
        stmt = select(Story).where(Story.workspace_id == self.workspace_id, Story.campaign_id == campaign_id)
        if influencer_id is not None:
            stmt = stmt.where(Story.influencer_id == influencer_id)
        rows = list((await self.session.execute(keyset(stmt, params, Story.created_at, Story.id))).scalars())
        return build_page(rows, params)

    async def media_paths(
        self, *, campaign_id: uuid.UUID | None = None, influencer_id: uuid.UUID | None = None
    ) -> builtins.list[str]:
        """The media files of a campaign's or an influencer's stories (what deleting either removes)."""
        stmt = select(Story.media_path).where(Story.workspace_id == self.workspace_id)
        if campaign_id is not None:
            stmt = stmt.where(Story.campaign_id == campaign_id)
        if influencer_id is not None:
            stmt = stmt.where(Story.influencer_id == influencer_id)
        return list((await self.session.execute(stmt)).scalars())
