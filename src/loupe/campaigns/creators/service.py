"""Creators of a campaign and their workflow stage; promotion past "applied" is announced on a hook
(tracking links attach to it and hand out the creator's links in the same transaction)."""

from __future__ import annotations

import builtins
import uuid
from collections import Counter
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.creators import stages
from loupe.campaigns.creators.models import CampaignCreator, Stage
from loupe.campaigns.creators.repository import CreatorRepository
from loupe.campaigns.models import Campaign
from loupe.campaigns.service import CampaignService
from loupe.influencers.service import InfluencerService, authenticated_influencers
from loupe.kit.db import utcnow
from loupe.kit.errors import Conflict, FieldError, NotFound, ValidationFailed
from loupe.kit.hooks import Hook
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal

# (session, principal, campaign locked for update, influencer ids): creators just moved past "applied".
creators_promoted: Hook[[AsyncSession, Principal, Campaign, list[uuid.UUID]]] = Hook("creators_promoted", required=True)


class CreatorService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.campaigns = CampaignService(session, principal)
        self.creators = CreatorRepository(session, principal.workspace_id)

    async def find(self, campaign: Campaign, influencer_id: uuid.UUID) -> CampaignCreator | None:
        return await self.creators.get(campaign.id, influencer_id)

    async def of(self, campaign: Campaign, influencer_id: uuid.UUID) -> CampaignCreator:
        creator = await self.find(campaign, influencer_id)
        if creator is None:
            raise NotFound(f"Influencer {influencer_id} is not a creator of campaign {campaign.id}.")
        return creator

    async def past_applied(
        self, campaign: Campaign, influencer_ids: Iterable[uuid.UUID] | None = None
    ) -> builtins.list[uuid.UUID]:
        """The campaign's creators (or those of `influencer_ids`) who are past "applied"."""
        return await self.creators.member_ids(campaign.id, influencer_ids, stages.PAST_APPLIED)

    async def add(
        self, campaign_id: uuid.UUID, influencer_ids: builtins.list[uuid.UUID]
    ) -> tuple[builtins.list[CampaignCreator], builtins.list[uuid.UUID]]:
        campaign = await self.campaigns.get(campaign_id)
        known = await InfluencerService(self.session, self.principal).existing_ids(influencer_ids)
        unknown = [
            FieldError(field=f"body.influencer_ids.{i}", reason=f"Influencer {value} was not found in this workspace.")
            for i, value in enumerate(influencer_ids)
            if value not in known
        ]
        if unknown:
            raise ValidationFailed("Some influencers do not exist; nothing was added.", errors=unknown)
        members = set(await self.creators.member_ids(campaign.id, influencer_ids))
        fresh = [i for i in dict.fromkeys(influencer_ids) if i not in members]
        added = await self.creators.add_all(campaign.id, fresh) if fresh else []
        # Listed twice, already in the campaign, or added by a concurrent request meanwhile.
        counts = Counter(influencer_ids)
        new = {creator.influencer_id for creator in added}
        duplicates = [i for i in dict.fromkeys(influencer_ids) if i not in new or counts[i] > 1]
        return added, duplicates

    async def get(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID) -> CampaignCreator:
        return await self.of(await self.campaigns.get(campaign_id), influencer_id)

    async def list(
        self, campaign_id: uuid.UUID, params: PageParams, stage: Stage | None, authenticated: bool | None = None
    ) -> tuple[builtins.list[CampaignCreator], str | None]:
        campaign = await self.campaigns.get(campaign_id)
        ids = await authenticated_influencers(campaign.workspace_id) if authenticated is not None else None
        return await self.creators.list(campaign.id, params, stage, authenticated, ids)

    async def move(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID, target: Stage) -> CampaignCreator:
        # The campaign row lock orders this against a campaign-level link being added at the same moment.
        campaign = await self.campaigns.get(campaign_id, for_update=True)
        creator = await self.of(campaign, influencer_id)
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
            await creators_promoted(self.session, self.principal, campaign, [influencer_id])
        return creator

    async def remove(self, campaign_id: uuid.UUID, influencer_id: uuid.UUID) -> None:
        campaign = await self.campaigns.get(campaign_id)
        await self.creators.delete(await self.of(campaign, influencer_id))
