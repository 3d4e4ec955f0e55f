"""Tracking-link rules: who gets a link, names that merge tags can resolve, edits, archive (final).

Creators get their copies of campaign-level links when they are promoted past "applied" (this module
attaches to `campaigns.creators.service.creators_promoted`) and when a campaign-level link is added.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.creators.service import CreatorService, creators_promoted
from loupe.campaigns.models import Campaign
from loupe.campaigns.service import CampaignService
from loupe.kit.db import utcnow
from loupe.kit.errors import Conflict, NotFound, ValidationFailed
from loupe.kit.pagination import PageParams
from loupe.links.models import LINK_FIELDS, LinkKind, TrackingLink
from loupe.links.repository import LinkFilters, LinkRepository
from loupe.links.schemas import CampaignLinkCreate, CreatorLinkCreate, LinkFields, LinkUpdate
from loupe.workspaces.auth import Principal


def _fields(data: LinkFields) -> dict[str, object]:
    return data.model_dump(include=set(LINK_FIELDS))


class LinkService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.links = LinkRepository(session, principal.workspace_id)
        self.campaigns = CampaignService(session, principal)
        self.creators = CreatorService(session, principal)

    async def _name_free(
        self, campaign_id: uuid.UUID, name: str, influencer_id: uuid.UUID | None, exclude: uuid.UUID | None = None
    ) -> None:
        if await self.links.name_taken(campaign_id, name, influencer_id=influencer_id, exclude=exclude):
            raise Conflict(
                f"A live link named '{name}' already exists for this campaign or creator; names must be unique "
                "so that {{tracking_link:<name>}} is unambiguous."
            )

    async def create_campaign_link(self, campaign_id: uuid.UUID, data: CampaignLinkCreate) -> TrackingLink:
        # The campaign row lock orders this against promotions: no creator is promoted unseen meanwhile.
        campaign = await self.campaigns.get(campaign_id, for_update=True)
        await self._name_free(campaign.id, data.name, None)
        link = await self.links.add(
            TrackingLink(campaign_id=campaign.id, kind=LinkKind.campaign.value, code=None, **_fields(data))
        )
        await self.give_copies(campaign, await self.creators.past_applied(campaign), parent_ids=[link.id])
        return link

    async def give_copies(
        self,
        campaign: Campaign,
        influencer_ids: Iterable[uuid.UUID],
        *,
        parent_ids: Iterable[uuid.UUID] | None = None,
    ) -> builtins.list[TrackingLink]:
        """Gives each of these creators a copy of every live campaign-level link of the campaign (or of those
        of `parent_ids`) that they lack. Idempotent. Returns the copies made."""
        members = sorted(set(influencer_ids))
        parents = await self.links.live_campaign_links(campaign.id, parent_ids) if members else []
        if not parents:
            return []
        existing = await self.links.copies_of([p.id for p in parents], members)
        missing = [
            {
                "id": uuid.uuid4(),
                "campaign_id": campaign.id,
                "influencer_id": influencer_id,
                "parent_link_id": parent.id,
                "kind": LinkKind.creator.value,
                **{field: getattr(parent, field) for field in LINK_FIELDS},
            }
            for parent in parents
            for influencer_id in members
            if (parent.id, influencer_id) not in existing
        ]
        return await self.links.insert_with_codes(missing, skip_existing_copies=True) if missing else []

    async def creator_links(self, campaign: Campaign, influencer_id: uuid.UUID) -> builtins.list[TrackingLink]:
        """The live links a creator shares in the campaign, after making the copies they lack (whatever their
        stage: a message is how the creator receives them)."""
        await self.give_copies(campaign, [influencer_id])
        return await self.links.live_for_creator(campaign.id, influencer_id)

    async def create_creator_link(self, data: CreatorLinkCreate) -> TrackingLink:
        # Locked, like every name check, so two requests cannot both find a name free.
        campaign = await self.campaigns.find(data.campaign_id, for_update=True)
        if campaign is None:
            raise ValidationFailed.on(
                "body.campaign_id", f"Campaign {data.campaign_id} was not found in this workspace."
            )
        if await self.creators.find(campaign, data.influencer_id) is None:
            raise ValidationFailed.on(
                "body.influencer_id",
                f"Influencer {data.influencer_id} is not a creator of this campaign; add them to it first.",
            )
        await self._name_free(campaign.id, data.name, data.influencer_id)
        values = {
            "id": uuid.uuid4(),
            "campaign_id": campaign.id,
            "influencer_id": data.influencer_id,
            "kind": LinkKind.creator.value,
            **_fields(data),
        }
        [link] = await self.links.insert_with_codes([values])
        return link

    async def get(self, link_id: uuid.UUID, *, for_update: bool = False) -> TrackingLink:
        link = await self.links.get(link_id, for_update=for_update)
        if link is None:
            raise NotFound(f"Tracking link {link_id} was not found.")
        return link

    async def list(self, params: PageParams, filters: LinkFilters) -> tuple[list[TrackingLink], str | None]:
        return await self.links.list(params, filters)

    async def list_campaign_links(
        self, campaign_id: uuid.UUID, params: PageParams, archived: bool | None
    ) -> tuple[builtins.list[TrackingLink], str | None]:
        campaign = await self.campaigns.get(campaign_id)
        filters = LinkFilters(campaign_id=campaign.id, kind=LinkKind.campaign, archived=archived)
        return await self.links.list(params, filters)

    async def update(self, link_id: uuid.UUID, data: LinkUpdate) -> TrackingLink:
        changes = data.model_dump(exclude_unset=True)
        if "name" in changes:
            # A rename checks the name under the campaign lock, taken before the link's (the order promotions use).
            link = await self.get(link_id)
            if link.campaign_id is not None:
                await self.campaigns.get(link.campaign_id, for_update=True)
        link = await self.get(link_id, for_update=True)
        if link.archived_at is not None:
            raise Conflict("This link is archived; archived links cannot be edited. Create a new link instead.")
        if link.parent_link_id is not None:
            raise Conflict(
                f"This link is a creator's copy of campaign-level link {link.parent_link_id}; edit that link and "
                "the change applies to every creator's copy."
            )
        if "name" in changes and changes["name"].lower() != link.name.lower() and link.campaign_id is not None:
            scope = None if link.kind == LinkKind.campaign.value else link.influencer_id
            await self._name_free(link.campaign_id, changes["name"], scope, exclude=link.id)
        for field, value in changes.items():
            setattr(link, field, value)
        await self.session.flush()
        if link.kind == LinkKind.campaign.value and changes:
            await self.links.update_copies(link, changes)
        return link

    async def archive(self, link_id: uuid.UUID) -> TrackingLink:
        """Final. Archiving again changes nothing. A campaign-level link takes its copies with it."""
        link = await self.get(link_id, for_update=True)
        if link.archived_at is not None:
            return link
        now = utcnow()
        link.archived_at = now
        await self.session.flush()
        if link.kind == LinkKind.campaign.value:
            await self.links.archive_copies(link, now)
        return link

    async def refuse_delete(self, link_id: uuid.UUID) -> None:
        await self.get(link_id)
        raise Conflict(
            "Tracking links are never deleted, so their clicks and conversions stay reportable. "
            f"Archive it instead: POST /v1/links/{link_id}/archive (final; the link then answers 410)."
        )


@creators_promoted.attach
async def _give_promoted_creators_their_links(
    session: AsyncSession, principal: Principal, campaign: Campaign, influencer_ids: builtins.list[uuid.UUID]
) -> None:
    # Runs in the promotion's transaction, under its campaign lock: never "approved" without the links.
    await LinkService(session, principal).give_copies(campaign, influencer_ids)
