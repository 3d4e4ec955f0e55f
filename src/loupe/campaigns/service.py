from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.models import Campaign, StoryCaptureWindow
from loupe.campaigns.repository import CampaignRepository
from loupe.campaigns.schemas import CampaignCreate, CampaignUpdate
from loupe.kit.db import utcnow
from loupe.kit.errors import NotFound, ValidationFailed
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal


class CampaignService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.campaigns = CampaignRepository(session, principal.workspace_id)

    async def create(self, data: CampaignCreate) -> Campaign:
        campaign = Campaign(
            name=data.name,
            description=data.description,
            starts_on=data.starts_on,
            ends_on=data.ends_on,
            story_capture_windows=[StoryCaptureWindow(started_at=utcnow())] if data.story_capture else [],
        )
        return await self.campaigns.add(campaign)

    async def find(
        self, campaign_id: uuid.UUID, *, for_update: bool = False, for_delete: bool = False
    ) -> Campaign | None:
        return await self.campaigns.get(campaign_id, for_update=for_update, for_delete=for_delete)

    async def get(self, campaign_id: uuid.UUID, *, for_update: bool = False, for_delete: bool = False) -> Campaign:
        campaign = await self.find(campaign_id, for_update=for_update, for_delete=for_delete)
        if campaign is None:
            raise NotFound(f"Campaign {campaign_id} was not found.")
        return campaign

    async def list(self, params: PageParams) -> tuple[list[Campaign], str | None]:
        return await self.campaigns.list(params)

    async def update(self, campaign_id: uuid.UUID, data: CampaignUpdate) -> Campaign:
        # Locked: two concurrent toggles must not open two windows.
        campaign = await self.get(campaign_id, for_update=True)
        changes = data.model_dump(exclude_unset=True)
        toggle = changes.pop("story_capture", None)
        for field, value in changes.items():
            setattr(campaign, field, value)
        if campaign.ends_on is not None and campaign.ends_on < campaign.starts_on:
            raise ValidationFailed.on("body.ends_on", "ends_on must not be before starts_on")
        if toggle is not None:
            self._toggle_story_capture(campaign, toggle)
        await self.session.flush()
        await self.session.refresh(campaign, ["story_capture_windows", "updated_at"])
        return campaign

    @staticmethod
    def _toggle_story_capture(campaign: Campaign, on: bool) -> None:
        """Turning on opens a window, off closes the open one; the same value again changes nothing."""
        if on == campaign.story_capture:
            return
        now = utcnow()
        if on:
            campaign.story_capture_windows.append(StoryCaptureWindow(started_at=now))
        else:
            for window in campaign.story_capture_windows:
                if window.ended_at is None:
                    window.ended_at = now
        campaign.updated_at = now

    async def delete(self, campaign_id: uuid.UUID) -> None:
        """Creators, story-capture history and stories go with the campaign (their media files are trashed by
        the database, see `kit.media`). A campaign with tracking links is refused by their foreign key."""
        # Locked: a story being captured meanwhile is committed first, so it is deleted (and trashed) too.
        campaign = await self.get(campaign_id, for_delete=True)
        await self.campaigns.delete(campaign)
