"""Manual story capture: a story is accepted for a creator of a campaign only for a moment when the
campaign's story capture was on (never retroactively) and the creator was already in the campaign,
and never for the future."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.creators.service import CreatorService
from loupe.campaigns.models import Campaign
from loupe.campaigns.service import CampaignService
from loupe.campaigns.stories.models import Story
from loupe.campaigns.stories.repository import StoryRepository
from loupe.kit.db import utcnow
from loupe.kit.errors import NotFound, ValidationFailed
from loupe.kit.hooks import Hook
from loupe.kit.media import MediaStore
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal

CLOCK_SKEW = timedelta(minutes=1)
# A story was captured by hand, in the capturing transaction: trackings collect it when its text matches.
story_captured: Hook[[AsyncSession, Story]] = Hook("story_captured")


def _check_posted_at(campaign: Campaign, posted_at: datetime) -> None:
    now = utcnow()
    if posted_at > now + CLOCK_SKEW:
        raise ValidationFailed.on("body.posted_at", "posted_at is in the future.")
    windows = campaign.story_capture_windows
    if not windows:
        raise ValidationFailed.on("body.posted_at", "Story capture was never on for this campaign.")
    if not any(w.started_at <= posted_at <= (w.ended_at or now + CLOCK_SKEW) for w in windows):
        spans = "; ".join(
            f"{w.started_at.isoformat()} to {w.ended_at.isoformat() if w.ended_at else 'now'}" for w in windows
        )
        raise ValidationFailed.on(
            "body.posted_at",
            f"Story capture was off at {posted_at.isoformat()}; it is not retroactive. It was on: {spans}.",
        )


class StoryService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.campaigns = CampaignService(session, principal)
        self.creators = CreatorService(session, principal)
        self.stories = StoryRepository(session, principal.workspace_id)

    async def capture(
        self,
        media: MediaStore,
        campaign_id: uuid.UUID,
        influencer_id: uuid.UUID,
        upload: UploadFile,
        posted_at: datetime,
        text: str | None,
        metrics: dict[str, int],
    ) -> Story:
        campaign = await self.campaigns.get(campaign_id)
        creator = await self.creators.of(campaign, influencer_id)
        _check_posted_at(campaign, posted_at)
        if posted_at < creator.created_at - CLOCK_SKEW:
            # Stories are captured for the time creators are in the campaign, not before they joined.
            raise ValidationFailed.on(
                "body.posted_at",
                f"The creator joined this campaign at {creator.created_at.isoformat()}; "
                "stories posted before that are not part of it.",
            )
        content_type = media.check_type(upload)
        stored = await media.save(self.session, upload, content_type, f"{campaign.workspace_id}/{campaign.id}")
        story = Story(
            campaign_id=campaign.id,
            influencer_id=influencer_id,
            posted_at=posted_at,
            text=text,
            media_path=stored.path,
            media_content_type=stored.content_type,
            media_size=stored.size,
            metrics=metrics,
            metrics_source="manual",
        )
        await self.stories.add(story)
        await story_captured(self.session, story)
        return story

    async def list(
        self, campaign_id: uuid.UUID, params: PageParams, influencer_id: uuid.UUID | None
    ) -> tuple[list[Story], str | None]:
        campaign = await self.campaigns.get(campaign_id)
        return await self.stories.list(campaign.id, params, influencer_id)

    async def set_metrics(self, story_id: uuid.UUID, values: dict[str, int | None]) -> Story | None:
        """Metrics entered by hand (`PATCH /v1/contents/{id}` reaches manual stories too); None when the story
        is not this workspace's."""
        return await self.stories.set_metrics(story_id, values)

    async def get(self, campaign_id: uuid.UUID, story_id: uuid.UUID) -> Story:
        campaign = await self.campaigns.get(campaign_id)
        story = await self.stories.get(campaign.id, story_id)
        if story is None:
            raise NotFound(f"Story {story_id} was not found in campaign {campaign_id}.")
        return story
