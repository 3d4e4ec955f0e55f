"""Instagram media, stories, insights and demographics: the same paths on graph.facebook.com
(Facebook Login) and graph.instagram.com (Instagram Login)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ..base import older_than
from ..errors import ConnectorError, ErrorKind
from ..models import (
    Audience,
    Content,
    ContentMedia,
    ContentMetrics,
    ContentPage,
    ContentType,
    Platform,
    Profile,
    TokenSet,
    normalise,
)
from ..timeparse import parse_datetime, to_int
from .errors import NOT_ENOUGH_VIEWERS, is_not_enough_viewers
from .graph import MetaGraphBase, next_after

PROFILE_FIELDS = (
    "id,ig_id,username,name,biography,website,profile_picture_url,followers_count,follows_count,media_count"
)
# Carousel children expanded in the same call (Graph field expansion); children have no permalink.
CHILD_FIELDS = "id,media_type,media_url,thumbnail_url"
MEDIA_FIELDS = (
    "id,caption,comments_count,like_count,media_type,media_product_type,media_url,permalink,"
    f"shortcode,thumbnail_url,timestamp,username,owner,is_comment_enabled,children{{{CHILD_FIELDS}}}"
)
STORY_FIELDS = (
    "id,caption,media_type,media_product_type,media_url,permalink,shortcode,thumbnail_url,timestamp,username,owner"
)
# `impressions`, `plays`, `video_views`, `taps_*`, `exits`, `engagement` are deprecated: never asked.
INSIGHT_METRICS: dict[str, tuple[str, ...]] = {
    "FEED": (
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
    ),
    "REELS": (
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
    ),
    "STORY": (
        "views",
        "reach",
        "shares",
        "total_interactions",
        "follows",
        "profile_visits",
        "replies",
        "link_clicks",
    ),
}
INSIGHT_TO_FIELD = {
    "views": "views",
    "reach": "reach",
    "likes": "likes",
    "comments": "comments",
    "saved": "saves",
    "shares": "shares",
    "total_interactions": "engagements",
}
GENDERS = {"F": "female", "M": "male", "U": "unknown"}
PAGE_SIZE = 100


def content_type(media_type: str | None, product: str | None) -> ContentType:
    if product == "STORY":
        return ContentType.STORY
    if product == "REELS":
        return ContentType.REEL
    if media_type == "CAROUSEL_ALBUM":
        return ContentType.CAROUSEL
    if media_type == "VIDEO":
        return ContentType.VIDEO
    return ContentType.POST


def parse_media(item: dict[str, Any], account_id: str) -> Content:
    product = item.get("media_product_type")
    media_url = item.get("media_url")
    children = [
        ContentMedia(
            id=str(c["id"]) if c.get("id") else None,
            media_type=c.get("media_type"),
            media_url=c.get("media_url"),
            thumbnail_url=c.get("thumbnail_url"),
        )
        for c in (item.get("children") or {}).get("data") or []
        if isinstance(c, dict)
    ]
    return Content(
        platform=Platform.INSTAGRAM,
        id=str(item["id"]),
        account_id=str((item.get("owner") or {}).get("id") or account_id),
        type=content_type(item.get("media_type"), product),
        text=item.get("caption"),
        permalink=item.get("permalink"),
        published_at=parse_datetime(item.get("timestamp")),
        media_urls=[media_url] if media_url else [],
        thumbnail_url=item.get("thumbnail_url"),
        children=children,
        metrics=ContentMetrics(likes=to_int(item.get("like_count")), comments=to_int(item.get("comments_count"))),
        extras={
            k: v
            for k, v in {
                "media_type": item.get("media_type"),
                "media_product_type": product,
                "shortcode": item.get("shortcode"),
            }.items()
            if v is not None
        },
    )


def insight_value(entry: dict[str, Any]) -> Any:
    values = entry.get("values") or []
    if values and isinstance(values[0], dict) and "value" in values[0]:
        return values[0]["value"]
    return (entry.get("total_value") or {}).get("value")


def parse_insights(body: dict[str, Any]) -> ContentMetrics:
    fields: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for entry in body.get("data") or []:
        name, value = entry.get("name"), insight_value(entry)
        if name == "navigation":
            extras["navigation"] = breakdown_totals(entry, "story_navigation_action_type")
            extras["navigation_total"] = to_int(value)
        elif name in INSIGHT_TO_FIELD:
            fields[INSIGHT_TO_FIELD[name]] = to_int(value)
        elif name:
            extras[name] = value
    return ContentMetrics(**fields, extras=extras)


def breakdown_totals(entry: dict[str, Any], key: str) -> dict[str, float]:
    """Sum results over one dimension; dimension_keys may carry extras such as `timeframe`."""
    totals: dict[str, float] = {}
    for breakdown in (entry.get("total_value") or {}).get("breakdowns") or []:
        keys = breakdown.get("dimension_keys") or []
        if key not in keys:
            continue
        idx = keys.index(key)
        for result in breakdown.get("results") or []:
            dims = result.get("dimension_values") or []
            if idx < len(dims):
                totals[str(dims[idx])] = totals.get(str(dims[idx]), 0) + float(result.get("value") or 0)
    return totals


class InstagramDataMixin(MetaGraphBase):
    """Data calls; `graph_base` decides the host."""

    platform = Platform.INSTAGRAM

    async def fetch_profile(self, token: TokenSet, account_id: str) -> Profile:
        data = await self.graph(account_id, token, {"fields": PROFILE_FIELDS})
        return self._profile(data)

    def _profile(self, data: dict[str, Any]) -> Profile:
        username = data.get("username")
        return Profile(
            platform=Platform.INSTAGRAM,
            id=str(data.get("id") or data.get("user_id")),
            username=username,
            display_name=data.get("name"),
            bio=data.get("biography"),
            avatar_url=data.get("profile_picture_url"),
            website=data.get("website"),
            url=f"https://www.instagram.com/{username}/" if username else None,
            followers=to_int(data.get("followers_count")),
            following=to_int(data.get("follows_count")),
            content_count=to_int(data.get("media_count")),
            account_type=data.get("account_type"),
            extras={k: data[k] for k in ("ig_id", "user_id") if data.get(k) is not None},
        )

    async def fetch_audience(self, token: TokenSet, account_id: str) -> Audience:
        """follower_demographics by age+gender, country and city (top 45 each; none under 100 followers)."""

        async def breakdown(dims: str) -> dict[str, Any]:
            body = await self.graph(
                f"{account_id}/insights",
                token,
                {
                    "metric": "follower_demographics",
                    "period": "lifetime",
                    "metric_type": "total_value",
                    "breakdown": dims,
                    "timeframe": "this_month",
                },
            )
            data = body.get("data") or []
            return data[0] if data else {}

        age_gender, country, city = await asyncio.gather(
            breakdown("age,gender"), breakdown("country"), breakdown("city")
        )
        genders = {GENDERS.get(k, k.lower()): v for k, v in breakdown_totals(age_gender, "gender").items()}
        audience = Audience(
            platform=Platform.INSTAGRAM,
            account_id=account_id,
            ages=normalise(breakdown_totals(age_gender, "age")),
            genders=normalise(genders),
            countries=normalise(breakdown_totals(country, "country")),
            cities=normalise(breakdown_totals(city, "city")),
        )
        if not (audience.ages or audience.countries or audience.cities or audience.genders):
            return audience.model_copy(
                update={"available": False, "note": "no demographics yet (under 100 followers or lag)"}
            )
        return audience

    async def fetch_content_page(
        self,
        token: TokenSet,
        account_id: str,
        *,
        since: datetime | None = None,
        cursor: str | None = None,
        page_size: int | None = None,
    ) -> ContentPage:
        params: dict[str, Any] = {"fields": MEDIA_FIELDS, "limit": page_size or PAGE_SIZE}
        if cursor:
            params["after"] = cursor
        body = await self.graph(f"{account_id}/media", token, params)
        items = [parse_media(m, account_id) for m in body.get("data") or []]
        kept = [c for c in items if not older_than(c.published_at, since)]
        # Newest first: once something is older than `since` there is nothing left to read.
        next_cursor = next_after(body) if len(kept) == len(items) else None
        return ContentPage(items=kept, next_cursor=next_cursor)

    async def _media_insights(self, token: TokenSet, media_id: str, product: str) -> ContentMetrics:
        metrics = INSIGHT_METRICS.get(product, INSIGHT_METRICS["FEED"])
        try:
            body = await self.graph(f"{media_id}/insights", token, {"metric": ",".join(metrics)})
        except ConnectorError as exc:
            if is_not_enough_viewers(exc.code if isinstance(exc.code, int) else None, exc.message):
                return ContentMetrics(available=False, unavailable_reason=NOT_ENOUGH_VIEWERS)
            raise
        result = parse_insights(body)
        if product == "STORY":
            result = result.merged(await self._story_navigation(token, media_id))
        return result

    async def _story_navigation(self, token: TokenSet, media_id: str) -> ContentMetrics:
        """Taps/exits now live in one `navigation` metric with a breakdown; optional extra."""
        try:
            body = await self.graph(
                f"{media_id}/insights",
                token,
                {
                    "metric": "navigation",
                    "breakdown": "story_navigation_action_type",
                },
            )
        except ConnectorError as exc:
            if exc.kind in (ErrorKind.PERMISSION_MISSING, ErrorKind.BAD_REQUEST):
                return ContentMetrics()
            raise
        return parse_insights(body)

    async def fetch_content_metrics(
        self, token: TokenSet, account_id: str, content_ids: list[str]
    ) -> dict[str, ContentMetrics]:
        """Counts from the media object, completed by its lifetime insights."""
        out: dict[str, ContentMetrics] = {}
        for media_id in content_ids:
            media = await self.graph(
                media_id,
                token,
                {
                    "fields": "id,media_type,media_product_type,like_count,comments_count",
                },
            )
            base = ContentMetrics(likes=to_int(media.get("like_count")), comments=to_int(media.get("comments_count")))
            insights = await self._media_insights(token, media_id, media.get("media_product_type") or "FEED")
            merged = base.merged(insights)
            if not insights.available:
                merged = merged.model_copy(
                    update={"available": False, "unavailable_reason": insights.unavailable_reason}
                )
            out[media_id] = merged
        return out

    async def fetch_stories(self, token: TokenSet, account_id: str) -> list[Content]:
        """Live stories (last 24 h) with their metrics; a story under 5 viewers keeps
        `metrics.available = False` instead of failing the whole fetch."""
        items = await self.graph_pages(f"{account_id}/stories", token, {"fields": STORY_FIELDS})
        stories = []
        for item in items:
            story = parse_media({**item, "media_product_type": "STORY"}, account_id)
            metrics = await self._media_insights(token, story.id, "STORY")
            stories.append(story.model_copy(update={"metrics": metrics}))
        return stories
