"""How `{{tracking_link:<name>}}` and `{{all_tracking_links}}` resolve for one creator of a campaign.

Like Later Influence, rendering a campaign-level link for a creator who has no copy yet creates the copy
(whatever their stage): the message is how the creator receives it.
"""

from __future__ import annotations

import uuid

from loupe.campaigns.models import Campaign
from loupe.links.codes import public_url
from loupe.links.models import TrackingLink
from loupe.links.service import LinkService
from loupe.messaging.templates import Resolver, TemplateError


class CreatorLinkTags:
    """The creator's live links, loaded (and missing copies made) once per render, however many tags use them."""

    def __init__(self, links: LinkService, campaign: Campaign, influencer_id: uuid.UUID, base_url: str) -> None:
        self.links = links
        self.campaign = campaign
        self.influencer_id = influencer_id
        self.base_url = base_url
        self._loaded: list[TrackingLink] | None = None

    async def _creator_links(self) -> list[TrackingLink]:
        if self._loaded is None:
            self._loaded = await self.links.creator_links(self.campaign, self.influencer_id)
        return self._loaded

    def _url(self, link: TrackingLink) -> str:
        # Only campaign-level links have no code, and they are never a creator's own.
        return public_url(link.code or "", self.base_url)

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
