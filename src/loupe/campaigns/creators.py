"""Creators of a campaign and their workflow stage; promotion past "applied" hands out tracking links."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns import stages
from loupe.campaigns.models import Campaign, CampaignCreator, Stage
from loupe.campaigns.repository import CreatorRepository
from loupe.campaigns.service import CampaignService
from loupe.influencers.repository import InfluencerRepository
from loupe.kit.db import utcnow
from loupe.kit.errors import Conflict, FieldError, NotFound, ValidationFailed
from loupe.kit.pagination import PageParams
from loupe.links.generation import ensure_creator_links
from loupe.workspaces.auth import Principal


async def creator_of(session: AsyncSession, campaign: Campaign, influencer_id: uuid.UUID) -> CampaignCreator:
    creator = await CreatorRepository(session, campaign).get(influencer_id)
    if creator is None:
        raise NotFound(f"Influencer {influencer_id} is not a creator of campaign {campaign.id}.")
    return creator


class CreatorService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.campaigns = CampaignService(session, principal)

    async def _repo(self, campaign_id: uuid.UUID) -> CreatorRepository:
        return CreatorRepository(self.session, await self.campaigns.get(campaign_id))

    async def add(
        self, campaign_id: uuid.UUID, influencer_ids: list[uuid.UUID]
    ) -> tuple[list[CampaignCreator], list[uuid.UUID]]:
        repo = await self._repo(campaign_id)
        known = await InfluencerRepository(self.session, self.principal.workspace_id).existing_ids(influencer_ids)
        unknown = [
            FieldError(field=f"body.influencer_ids.{i}", reason=f"Influencer {value} was not found in this workspace.")
            for i, value in enumerate(influencer_ids)
            if value not in known
        ]
        if unknown:
            raise ValidationFailed("Some influencers do not exist; nothing was added.", errors=unknown)
        members = await repo.member_ids(influencer_ids)
        fresh = [i for i in dict.fromkeys(influencer_ids) if i not in members]
        added = await repo.add_all(fresh) if fresh else []
        # Listed twice, already in the campaign, or added by a concurrent request meanwhile.
        counts = Counter(influencer_ids)
        new = {creator.influencer_id for creator in added}
        duplicates = [i for i in dict.fromkeys(influencer_ids) if i not in new or counts[i] > 1]
        return added, duplicates

    async def get(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID) -> CampaignCreator:
        return await creator_of(self.session, await self.campaigns.get(campaign_id), influencer_id)

    async def list(
        self, campaign_id: uuid.UUID, params: PageParams, stage: Stage | None
    ) -> tuple[list[CampaignCreator], str | None]:
        return await (await self._repo(campaign_id)).list(params, stage.value if stage else None)

    async def move(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID, target: Stage) -> CampaignCreator:
        # The campaign row lock orders this against a campaign-level link being added at the same moment.
        campaign = await self.campaigns.get(campaign_id, for_update=True)
        creator = await creator_of(self.session, campaign, influencer_id)
        current = Stage(creator.stage)
        if current == target:
            return creator
        if not stages.allowed(current, target):
            raise Conflict(
                f"A creator cannot move from {current.value} to {target.value}; "
                f"from {current.value} they can move to: {stages.describe(current)}."
            )
        creator.stage = target.value
        creator.stage_changed_at = utcnow()
        await self.session.flush()
        if target in stages.PAST_APPLIED:
            # Same transaction as the promotion: the creator never exists "approved" without their links.
            await ensure_creator_links(self.session, campaign_id, influencer_ids=[influencer_id])
        return creator

    async def remove(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID) -> None:
        campaign = await self.campaigns.get(campaign_id)
        await CreatorRepository(self.session, campaign).delete(await creator_of(self.session, campaign, influencer_id))
