"""What the API shows of a connected account's data: profile and its history, audience, contents with their
API metrics beside the ones the workspace set by hand."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from loupe.connections.models import ConnectionStatus
from loupe.connectors.models import ContentType
from loupe.connectors.platforms import Platform
from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema

# The metrics every content may have (where the platform has them); others stay in `other_metrics`.
METRIC_NAMES = ("likes", "comments", "shares", "saves", "views", "reach", "impressions")


class AccountProfileRead(Schema):
    connected_account_id: uuid.UUID
    platform: Platform
    status: ConnectionStatus = Field(description="The connected account's status in this workspace.")
    username: str | None
    display_name: str | None
    bio: str | None
    avatar_url: str | None
    url: str | None = Field(description="The profile's page at the platform.")
    website: str | None = Field(description="The website the creator shows on the profile.")
    followers: int | None
    following: int | None
    content_count: int | None = Field(description="Posts, videos or tweets the platform counts on the account.")
    verified: bool | None
    account_type: str | None = Field(description="The platform's kind of account (`BUSINESS`, `CREATOR`, ...).")
    extras: dict[str, Any] = Field(
        description="What only this platform has (YouTube playlists and watch time, TikTok likes, X tweet count...)."
    )
    last_refreshed_at: datetime | None = Field(
        description="When the data was last read from the platform. Null: not refreshed yet, and every other "
        "field but the account's identity is null or empty."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "connected_account_id": "4a0e8f7e-9d43-4c8f-8f3f-8d0e2f6b1c22",
                    "platform": "instagram",
                    "status": "active",
                    "username": "ada.creates",
                    "display_name": "Ada Lovelace",
                    "bio": "Analytical engines and lipstick.",
                    "avatar_url": "https://cdn.example/ada.jpg",
                    "url": "https://www.instagram.com/ada.creates",
                    "website": "https://ada.example",
                    "followers": 48210,
                    "following": 312,
                    "content_count": 418,
                    "verified": False,
                    "account_type": "CREATOR",
                    "extras": {},
                    "last_refreshed_at": "2026-03-02T04:12:00Z",
                }
            ]
        }
    }


class ProfileSnapshotRead(Schema):
    taken_on: date = Field(description="The UTC day (one snapshot per day: the day's last refresh).")
    taken_at: datetime
    followers: int | None
    following: int | None
    content_count: int | None
    extras: dict[str, Any]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "taken_on": "2026-03-02",
                    "taken_at": "2026-03-02T04:12:00Z",
                    "followers": 48210,
                    "following": 312,
                    "content_count": 418,
                    "extras": {},
                }
            ]
        }
    }


class ProfileSnapshotPage(Page[ProfileSnapshotRead]):
    """A page of daily profile snapshots, newest day first."""


class AudienceShare(Schema):
    key: str = Field(description="Country (ISO 3166-1 alpha-2), city, age range or gender; `others`: the rest.")
    percent: float = Field(ge=0, le=100, description="AudienceShare of the audience, in percent (two decimals).")


class AudienceRead(Schema):
    connected_account_id: uuid.UUID
    available: bool = Field(
        description="False when the platform exposes no demographics for this account (TikTok, X, Twitch, or "
        "too small an audience); the lists are then empty and `note` says why."
    )
    note: str | None
    countries: list[AudienceShare] = Field(description='Top 3 countries, largest first, then "others"; sums to 100.')
    cities: list[AudienceShare] = Field(description='Top 3 cities, largest first, then "others"; sums to 100.')
    ages: list[AudienceShare] = Field(description="Every age range, in the platform's order of ranges; sums to 100.")
    genders: list[AudienceShare] = Field(description="Every gender the platform reports, largest first; sums to 100.")
    refreshed_at: datetime | None = Field(description="When the audience was read. Null: not refreshed yet.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "connected_account_id": "4a0e8f7e-9d43-4c8f-8f3f-8d0e2f6b1c22",
                    "available": True,
                    "note": None,
                    "countries": [
                        {"key": "US", "percent": 41.5},
                        {"key": "GB", "percent": 20.25},
                        {"key": "FR", "percent": 10.0},
                        {"key": "others", "percent": 28.25},
                    ],
                    "cities": [
                        {"key": "London", "percent": 12.0},
                        {"key": "New York", "percent": 9.5},
                        {"key": "Paris", "percent": 6.5},
                        {"key": "others", "percent": 72.0},
                    ],
                    "ages": [{"key": "18-24", "percent": 35.0}, {"key": "25-34", "percent": 65.0}],
                    "genders": [{"key": "female", "percent": 70.0}, {"key": "male", "percent": 30.0}],
                    "refreshed_at": "2026-03-02T04:12:00Z",
                }
            ]
        }
    }


class ContentMetrics(Schema):
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    saves: int | None = None
    views: int | None = None
    reach: int | None = None
    impressions: int | None = None


class MetricsSource(StrEnum):
    api = "api"
    manual = "manual"


class ContentSource(StrEnum):
    api = "api"
    manual = "manual"


class ContentRead(Schema):
    id: uuid.UUID
    source: ContentSource = Field(
        description="`api`: read from a connected account. `manual`: a story captured by hand for a campaign "
        "(`/v1/campaigns/{campaign_id}/stories`; edit it there): no connected account, metrics entered by hand."
    )
    connected_account_id: uuid.UUID | None = Field(description="The connected account (null for `manual`).")
    influencer_id: uuid.UUID
    platform: Platform
    platform_content_id: str | None = Field(description="The platform's id of the content (null for `manual`).")
    type: ContentType
    published_at: datetime | None
    caption: str | None
    title: str | None
    permalink: str | None
    media: list[dict[str, Any]] = Field(
        description="The content's media in order: the platform's `url` (it may expire) and `stored`; carousel "
        "items add `type` and `thumbnail_url`. Files Loupe copied (API stories) have `stored: true`, "
        "`content_type` and `size`, and are served by `GET /v1/contents/{content_id}/media/{index}`."
    )
    duration_seconds: float | None
    metrics: ContentMetrics = Field(description="The platform's latest values (null: the platform has no such metric).")
    other_metrics: dict[str, Any] = Field(
        description="Whatever else the platform reports (engagements, quotes, watch time, story navigation...)."
    )
    metrics_available: bool = Field(description="False when the platform declined (an IG story under 5 viewers).")
    metrics_at: datetime | None = Field(description="When `metrics` were read from the platform.")
    manual_metrics: ContentMetrics = Field(
        description="Values this workspace set by hand (`PATCH /v1/contents/{content_id}`); never overwritten "
        "by a refresh. Null fields were not set."
    )
    metrics_source: MetricsSource = Field(
        description="`manual` when this workspace set at least one metric by hand (those values take "
        "precedence over `metrics` for the fields set), else `api`."
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "connected_account_id": "4a0e8f7e-9d43-4c8f-8f3f-8d0e2f6b1c22",
                    "influencer_id": "0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11",
                    "platform": "instagram",
                    "platform_content_id": "17900000000000001",
                    "type": "reel",
                    "published_at": "2026-03-01T18:00:00Z",
                    "caption": "Spring looks #ad",
                    "title": None,
                    "permalink": "https://www.instagram.com/reel/abc123/",
                    "media": [{"url": "https://cdn.example/abc123.mp4", "stored": False}],
                    "duration_seconds": 21.5,
                    "metrics": {
                        "likes": 1204,
                        "comments": 48,
                        "shares": 31,
                        "saves": 77,
                        "views": 20500,
                        "reach": 15800,
                        "impressions": None,
                    },
                    "other_metrics": {"engagements": 1360},
                    "metrics_available": True,
                    "metrics_at": "2026-03-02T04:12:00Z",
                    "manual_metrics": {
                        "likes": None,
                        "comments": None,
                        "shares": None,
                        "saves": None,
                        "views": None,
                        "reach": None,
                        "impressions": 24100,
                    },
                    "metrics_source": "manual",
                }
            ]
        }
    }


class ContentPage(Page[ContentRead]):
    """A page of contents, newest published first."""


class ManualMetrics(Schema):
    """Metrics set by hand. Only the fields sent change: a number sets it, null clears it."""

    likes: int | None = Field(default=None, ge=0)
    comments: int | None = Field(default=None, ge=0)
    shares: int | None = Field(default=None, ge=0)
    saves: int | None = Field(default=None, ge=0)
    views: int | None = Field(default=None, ge=0)
    reach: int | None = Field(default=None, ge=0)
    impressions: int | None = Field(default=None, ge=0)


class ContentUpdate(Schema):
    metrics: ManualMetrics = Field(
        description=f"Any of {', '.join(f'`{m}`' for m in METRIC_NAMES)}: a whole number >= 0 sets it for this "
        "workspace, null clears it; fields left out keep their value. Other names are refused."
    )

    model_config = {"json_schema_extra": {"examples": [{"metrics": {"impressions": 24100, "saves": None}}]}}


class RefreshQueued(Schema):
    queued: bool = Field(
        description="True: a refresh was queued now. False: one is already queued or running (it will read "
        "the platform's latest data all the same)."
    )

    model_config = {"json_schema_extra": {"examples": [{"queued": True}]}}
