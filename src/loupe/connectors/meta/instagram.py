"""Instagram API with Facebook Login: Pages -> linked professional Instagram accounts."""

from __future__ import annotations

import asyncio

from ..config import InstagramConfig
from ..errors import ErrorKind
from ..models import Platform, PlatformAccount, TokenSet
from .graph import FacebookLoginMixin
from .instagram_data import InstagramDataMixin

NO_PROFESSIONAL_ACCOUNT = "page has no linked Instagram professional (Business/Creator) account"


class InstagramConnector(InstagramDataMixin, FacebookLoginMixin):
    platform = Platform.INSTAGRAM
    config: InstagramConfig

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        """Every Page of the user; Pages without `instagram_business_account` come back ineligible.
        No eligible account at all -> not_professional_account."""
        pages = await self.pages(token)
        if not pages:
            raise self.error(
                ErrorKind.NOT_PROFESSIONAL_ACCOUNT,
                "no Facebook Page granted: an Instagram professional account needs a linked Page",
            )
        linked = [p for p in pages if (p.get("instagram_business_account") or {}).get("id")]
        profiles = await asyncio.gather(
            *(
                self.graph(
                    p["instagram_business_account"]["id"],
                    token,
                    {"fields": "id,username,name,profile_picture_url"},
                )
                for p in linked
            )
        )
        by_page = {p["id"]: prof for p, prof in zip(linked, profiles, strict=True)}
        accounts = []
        for page in pages:
            ig = page.get("instagram_business_account") or {}
            if ig.get("id"):
                prof = by_page[page["id"]]
                accounts.append(
                    PlatformAccount(
                        platform=Platform.INSTAGRAM,
                        id=str(ig["id"]),
                        username=prof.get("username"),
                        name=prof.get("name"),
                        picture_url=prof.get("profile_picture_url"),
                        page_id=str(page["id"]),
                        page_name=page.get("name"),
                    )
                )
            else:
                accounts.append(
                    PlatformAccount(
                        platform=Platform.INSTAGRAM,
                        id=f"page:{page['id']}",
                        page_id=str(page["id"]),
                        page_name=page.get("name"),
                        eligible=False,
                        ineligible_reason=NO_PROFESSIONAL_ACCOUNT,
                    )
                )
        if not any(a.eligible for a in accounts):
            raise self.error(
                ErrorKind.NOT_PROFESSIONAL_ACCOUNT,
                NO_PROFESSIONAL_ACCOUNT,
                raw={"pages": [a.page_id for a in accounts]},
            )
        return accounts
