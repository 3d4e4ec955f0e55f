from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from loupe.campaigns.models import Campaign
from loupe.kit.pagination import PageParams, build_page, keyset


class CampaignRepository:
    """Campaigns of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _select(self) -> Select[Campaign]:
        # The toggle's history is part of every campaign read (`story_capture` derives from it).
        return (
            select(Campaign)
            .where(Campaign.workspace_id == self.workspace_id)
            .options(selectinload(Campaign.story_capture_windows))
        )

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
        stmt = self._select().where(Campaign.id == campaign_id)
        if for_update or for_delete:
            # The locked row as committed now, even if this session loaded it before.
            stmt = stmt.with_for_update(key_share=not for_delete).execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, params: PageParams) -> tuple[list[Campaign], str | None]:
        rows = list(await self.session.scalars(keyset(self._select(), params, Campaign.created_at, Campaign.id)))
        return build_page(rows, params)

    async def delete(self, campaign: Campaign) -> None:
        await self.session.delete(campaign)
        await self.session.flush()
