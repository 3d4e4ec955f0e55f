"""Facebook Pages: the Page is the account; Page tokens (no expiry) do the reading."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..base import older_than
from ..config import FacebookConfig
from ..errors import ErrorKind
from ..models import (
    Content,
    ContentMetrics,
    ContentPage,
    ContentType,
    Platform,
    PlatformAccount,
    Profile,
    TokenSet,
)
from ..timeparse import parse_datetime, to_int
from .graph import FacebookLoginMixin, next_after

PAGE_FIELDS = "id,name,username,fan_count,followers_count,link,picture"
COUNT_FIELDS = "shares,reactions.summary(total_count).limit(0),comments.summary(true).limit(0)"
POST_FIELDS = f"id,message,created_time,permalink_url,full_picture,{COUNT_FIELDS}"
PAGE_SIZE = 100


def post_metrics(item: dict[str, Any]) -> ContentMetrics:
    def total(edge: str) -> int | None:
        return to_int(((item.get(edge) or {}).get("summary") or {}).get("total_count"))

    return ContentMetrics(
        likes=total("reactions"),  # reactions are Facebook's likes
        comments=total("comments"),
        shares=to_int((item.get("shares") or {}).get("count")) if item.get("shares") else 0,
    )


class FacebookConnector(FacebookLoginMixin):
    platform = Platform.FACEBOOK
    config: FacebookConfig

    async def list_accounts(self, token: TokenSet) -> list[PlatformAccount]:
        """The Pages the user granted, each with its own Page token."""
        pages = await self.pages(token)
        if not pages:
            raise self.error(ErrorKind.NOT_PROFESSIONAL_ACCOUNT, "no Facebook Page granted to the app")
        return [
            PlatformAccount(
                platform=Platform.FACEBOOK,
                id=str(p["id"]),
                name=p.get("name"),
                page_id=str(p["id"]),
                page_name=p.get("name"),
                # Page tokens derived from a long-lived user token do not expire.
                token=TokenSet(
                    access_token=p["access_token"],
                    scopes=token.scopes,
                    long_lived=True,
                    user_id=token.user_id,
                )
                if p.get("access_token")
                else None,
                extras={k: p[k] for k in ("category", "tasks") if k in p},
            )
            for p in pages
        ]

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        data = await self.graph(account_id, token, {"fields": PAGE_FIELDS})
        picture = ((data.get("picture") or {}).get("data") or {}).get("url")
        return Profile(
            platform=Platform.FACEBOOK,
            id=str(data["id"]),
            username=data.get("username"),
            display_name=data.get("name"),
            url=data.get("link"),
            avatar_url=picture,
            followers=to_int(data.get("followers_count")),
            extras={"fan_count": to_int(data.get("fan_count"))} if data.get("fan_count") is not None else {},
        )

    async def fetch_content_page(
        self,
        token: TokenSet,
        account_id: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> ContentPage:
        params: dict[str, Any] = {"fields": POST_FIELDS, "limit": page_size or PAGE_SIZE}
        if since:
            params["since"] = int(since.timestamp())
        if cursor:
            params["after"] = cursor
        body = await self.graph(f"{account_id}/posts", token, params)
        items = [self._post(p, account_id) for p in body.get("data") or []]
        kept = [c for c in items if not older_than(c.published_at, since)]
        return ContentPage(items=kept, next_cursor=next_after(body) if len(kept) == len(items) else None)

    def _post(self, item: dict[str, Any], account_id: str) -> Content:
        picture = item.get("full_picture")
        return Content(
            platform=Platform.FACEBOOK,
            id=str(item["id"]),
            account_id=account_id,
            type=ContentType.POST,
            text=item.get("message"),
            permalink=item.get("permalink_url"),
            published_at=parse_datetime(item.get("created_time")),
            media_urls=[picture] if picture else [],
            metrics=post_metrics(item),
        )

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]:
        out = {}
        for post_id in content_ids:
            out[post_id] = post_metrics(await self.graph(post_id, token, {"fields": COUNT_FIELDS}))
        return out

    async def fetch_page_insights(
        self,
        token: TokenSet,
        page_id: str,
        metrics: list[str],
        since: datetime,
        until: datetime,
        period: str = "day",
    ) -> dict[str, list[tuple[datetime | None, Any]]]:
        """Page insights (≤ 90 days a request), e.g. page_media_view, page_post_engagements, page_follows."""
        body = await self.graph(
            f"{page_id}/insights",
            token,
            {
                "metric": ",".join(metrics),
                "period": period,
                "since": int(since.timestamp()),
                "until": int(until.timestamp()),
            },
        )
        return {
            entry["name"]: [(parse_datetime(v.get("end_time")), v.get("value")) for v in entry.get("values", [])]
            for entry in body.get("data") or []
        }
