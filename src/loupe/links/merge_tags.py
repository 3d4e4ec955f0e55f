"""How `{{tracking_link:<name>}}` and `{{all_tracking_links}}` resolve for one creator of a campaign.

Like Later Influence, rendering a campaign-level link for a creator who has no copy yet creates the copy
(whatever their stage): the message is how the creator receives it.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.links.codes import public_url
from loupe.links.generation import ensure_creator_links
from loupe.links.models import TrackingLink
from loupe.links.repository import LinkRepository
from loupe.messaging.templates import Resolver, TemplateError


class CreatorLinkTags:
    """The creator's live links, loaded (and missing copies made) once per render, however many tags use them."""

    def __init__(
        self,
        session: AsyncSession,
        workspace_id: uuid.UUID,
        campaign_id: uuid.UUID,
        influencer_id: uuid.UUID,
        base_url: str,
    ) -> None:
        self.session = session
        self.links = LinkRepository(session, workspace_id)
        self.campaign_id = campaign_id
        self.influencer_id = influencer_id
        self.base_url = base_url
        self._loaded: list[TrackingLink] | None = None

    async def _creator_links(self) -> list[TrackingLink]:
        if self._loaded is None:
            await ensure_creator_links(
                self.session, self.campaign_id, influencer_ids=[self.influencer_id], any_stage=True
            )
            self._loaded = await self.links.live_for_creator(self.campaign_id, self.influencer_id)
        return self._loaded

    def _url(self, link: TrackingLink) -> str:
        assert link.code is not None  # only campaign-level links have none, and they are not a creator's
        return public_url(link.code, self.base_url)

    async def tracking_link(self, name: str | None) -> str:
        # A copy carries its campaign-level link's name, and live names are unique among a creator's links.
        wanted = (name or "").lower()
        for link in await self._creator_links():
            if link.name.lower() == wanted:
                return self._url(link)
        raise TemplateError(
            [f"Merge tag {{{{tracking_link:{name}}}}}: this creator has no live tracking link named '{name}'."]
        )

    async def all_tracking_links(self, _: str | None) -> str:
        return "\n".join(f"{link.name}: {self._url(link)}" for link in await self._creator_links())

    def resolvers(self) -> dict[str, Resolver]:
        return {"tracking_link": self.tracking_link, "all_tracking_links": self.all_tracking_links}
