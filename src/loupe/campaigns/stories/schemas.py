from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema

METRICS = (
    "views",
    "reach",
    "impressions",
    "replies",
    "shares",
    "link_clicks",
    "sticker_taps",
    "taps_forward",
    "taps_back",
    "exits",
)


class StoryMedia(Schema):
    content_type: str = Field(examples=["image/jpeg"])
    size: int = Field(description="Bytes.", examples=[482113])
    url: str = Field(description="API path that serves the file (same authentication).")


class StoryRead(Schema):
    id: uuid.UUID
    campaign_id: uuid.UUID
    influencer_id: uuid.UUID
    posted_at: datetime
    text: str | None
    media: StoryMedia
    metrics: dict[str, int] = Field(
        description=f"Metrics entered by hand; any of: {', '.join(METRICS)}.", examples=[{"views": 1200, "reach": 950}]
    )
    metrics_source: str = Field(description="`manual`: entered by hand, kept apart from API values.")
    created_at: datetime


class StoryPage(Page[StoryRead]):
    """A page of captured stories, most recently captured first."""
