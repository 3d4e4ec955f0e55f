from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.creators.service import CreatorService
from loupe.campaigns.service import CampaignService
from loupe.kit.errors import FieldError, ValidationFailed
from loupe.links.service import LinkService
from loupe.messaging.links import CreatorLinkTags
from loupe.messaging.tags import CAMPAIGN_MESSAGE_TAGS
from loupe.messaging.templates import Resolver, TemplateError
from loupe.workspaces.auth import Principal


def _refuse(exc: TemplateError) -> ValidationFailed:
    errors = [FieldError(field="body.template", reason=problem) for problem in exc.problems]
    return ValidationFailed("The template cannot be rendered; see `errors`.", errors=errors)


class MessagePreviewService:
    def __init__(self, session: AsyncSession, principal: Principal, base_url: str) -> None:
        self.session = session
        self.principal = principal
        self.base_url = base_url

    async def render(self, campaign_id: uuid.UUID, template: str, influencer_id: uuid.UUID) -> str:
        campaign = await CampaignService(self.session, self.principal).get(campaign_id)
        try:
            CAMPAIGN_MESSAGE_TAGS.parse(template)  # refuse bad templates before any link is generated
        except TemplateError as exc:
            raise _refuse(exc) from exc
        creator = await CreatorService(self.session, self.principal).find(campaign, influencer_id)
        if creator is None:
            raise ValidationFailed.on(
                "body.influencer_id", f"Influencer {influencer_id} is not a creator of this campaign."
            )
        links = CreatorLinkTags(LinkService(self.session, self.principal), campaign, influencer_id, self.base_url)

        async def creator_name(_: str | None) -> str:
            return creator.influencer.name

        async def campaign_name(_: str | None) -> str:
            return campaign.name

        resolvers: dict[str, Resolver] = {
            "creator_name": creator_name,
            "campaign_name": campaign_name,
            **links.resolvers(),
        }
        try:
            return await CAMPAIGN_MESSAGE_TAGS.render(template, resolvers)
        except TemplateError as exc:
            raise _refuse(exc) from exc
