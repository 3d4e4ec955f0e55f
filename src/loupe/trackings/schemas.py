from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from loupe.accounts.schemas import ContentRead
from loupe.connectors.platforms import Platform
from loupe.kit.pagination import Page
from loupe.kit.schemas import Answer, Schema, not_null, strip_text
from loupe.trackings.terms import MAX_TERMS

NAME = Field(
    min_length=1,
    max_length=200,
    description="Unique in the workspace, across its reports, whatever the case.",
    examples=["Spring drop — Instagram"],
)
TERMS: Any = Field(
    default_factory=list,
    max_length=MAX_TERMS,
    description="Up to 100; normalised (see the tracking's description).",
)
MAX_HANDLES = 20


class TrackingCreate(Schema):
    name: str = NAME
    network: Platform = Field(description="Where the contents are tracked.", examples=["instagram"])
    hashtags: list[str] = TERMS
    mentions: list[str] = TERMS
    keywords: list[str] = TERMS
    start_date: date = Field(description="First day tracked (UTC); not before the day the report was created.")
    end_date: date | None = Field(default=None, description="Last day tracked (UTC), inclusive; null: open-ended.")

    _strip = field_validator("name", mode="before")(strip_text)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Spring drop — Instagram",
                    "network": "instagram",
                    "hashtags": ["#HappySpring", "EnjoyLife"],
                    "mentions": ["@loupe_brand"],
                    "keywords": ["spring sale"],
                    "start_date": "2026-12-02",
                    "end_date": None,
                }
            ]
        }
    }


class TrackingUpdate(Schema):
    """Only the fields sent change; edits apply to contents from then on (re-match to apply them to stored
    contents). `end_date: null` makes the tracking open-ended."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    hashtags: list[str] | None = Field(default=None, max_length=MAX_TERMS)
    mentions: list[str] | None = Field(default=None, max_length=MAX_TERMS)
    keywords: list[str] | None = Field(default=None, max_length=MAX_TERMS)
    start_date: date | None = None
    end_date: date | None = None

    _strip = field_validator("name", mode="before")(strip_text)
    _not_null = field_validator("name", "hashtags", "mentions", "keywords", "start_date")(not_null)


class TrackingRead(Schema):
    id: uuid.UUID
    report_id: uuid.UUID
    name: str
    network: Platform
    hashtags: list[str] = Field(description="Without the #, case folded.", examples=[["happyspring"]])
    mentions: list[str] = Field(description="Without the @, case folded.", examples=[["loupe_brand"]])
    keywords: list[str] = Field(description="Folded: lower case, accents and punctuation removed.")
    start_date: date
    end_date: date | None
    created_at: datetime
    updated_at: datetime


class TrackingPage(Page[TrackingRead]):
    """A page of trackings, newest first."""


class ProfilesAdd(Schema):
    handles: list[str] = Field(
        default_factory=list,
        max_length=MAX_HANDLES,
        description="At most 20 @handles or profile URLs of the tracking's network.",
        examples=[["@ada.codes", "https://www.instagram.com/grace.hopper/"]],
    )
    influencer_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=1000, description="Influencers whose profiles on the network to add."
    )
    list_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="Lists whose members' profiles on the network to add."
    )


class Outcome(StrEnum):
    added = "added"
    duplicate = "duplicate"
    invalid = "invalid"


class ProfileOutcome(Schema):
    input: str = Field(description="The handle, URL, influencer id or list id as sent.")
    kind: str = Field(description="`handle`, `influencer` or `list`.", examples=["handle"])
    outcome: Outcome
    reason: str | None = Field(default=None, description="Why it is invalid or a duplicate.")
    profile_ids: list[uuid.UUID] = Field(default_factory=list, description="The tracked profiles it stands for.")


class ProfilesAdded(Schema):
    results: list[ProfileOutcome]
    added: int
    duplicates: int
    invalid: int


class ProfilesRemove(Schema):
    profile_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class ProfilesRemoved(Schema):
    removed: int


class InviteState(StrEnum):
    not_invited = "not_invited"
    invited = "invited"
    active = "active"
    action_needed = "action_needed"


class TrackedProfileRead(Schema):
    id: uuid.UUID
    platform: Platform
    handle: str
    platform_user_id: str | None
    influencer_id: uuid.UUID | None
    influencer_name: str | None
    api_access: bool = Field(
        description="True when the workspace holds an active grant of a healthy connection of this profile; "
        "false: never invited, refused, or access lost (ask the creator to reconnect)."
    )
    invite_status: InviteState = Field(description="The status of the influencer's invite, if any.")
    created_at: datetime


class TrackedProfilePage(Page[TrackedProfileRead]):
    """A page of tracked profiles, most recently added first."""


class TrackedContentRead(Schema):
    id: uuid.UUID = Field(description="The tracked content (this tracking's row), not the content's id.")
    tracking_id: uuid.UUID
    profile_id: uuid.UUID | None = Field(description="The tracked profile it came from (null once removed).")
    matched_terms: list[str] = Field(
        description="The terms that matched: `#tag`, `@name`, keywords folded.", examples=[["#happyspring", "spring"]]
    )
    network: Platform
    type: str = Field(examples=["reel"])
    published_at: datetime
    content: ContentRead | None = Field(
        description="The content with its metrics (`source` api or manual); null if it is no longer readable."
    )


class TrackedContentPage(Page[TrackedContentRead]):
    """A page of tracked contents, newest published first."""


class RematchQueued(Schema):
    job_id: str = Field(description="One re-match per tracking is queued at a time.", examples=["rematch:5f0c..."])
    queued: bool = Field(description="False when a re-match of this tracking was already queued.")


class InviteLink(Schema):
    url: str = Field(
        description="The workspace's connect link bound to this tracking.",
        examples=["https://loupe.example.com/connect/w/9yV4...?tracking=5f0c6f6e-8a57-4d43-a8c5-2b3f8f2d8e10"],
    )


class Figures(Answer):
    contents: int
    creators: int
    networks: int
    stories: int
    likes: int
    comments: int
    shares: int
    saves: int
    views: int
    reach: int
    engagements: int = Field(description="likes + comments + shares + saves.")
    engagement_rate: float | None = Field(
        description="engagements / reach over the contents (null when no content reports a reach)."
    )


class Breakdown(Figures):
    key: str = Field(description="The network, the content type, the UTC day (YYYY-MM-DD) or the creator.")


class TopContent(Answer):
    tracked_id: uuid.UUID
    tracking_id: uuid.UUID
    content_id: uuid.UUID | None
    story_id: uuid.UUID | None = Field(description="A story captured by hand (then `content_id` is null).")
    network: Platform
    type: str
    published_at: datetime
    creator: str = Field(description="The influencer's name, else the tracked handle.")
    handle: str | None
    text: str | None
    permalink: str | None
    matched_terms: list[str]
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    views: int | None
    reach: int | None
    engagements: int = Field(description="likes + comments + shares + saves.")


class ReportSummary(Answer):
    """Figures of the contents the report's trackings collected (each content once)."""

    totals: Figures
    by_creator: list[Breakdown]
    by_network: list[Breakdown]
    by_type: list[Breakdown]
    by_day: list[Breakdown]
    top_contents: list[TopContent] = Field(description="The 10 with the most engagements, then views.")


class ReportContentPage(Page[TopContent]):
    """A page of the report's contents, newest published first."""
