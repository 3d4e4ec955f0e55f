from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field, field_validator, model_validator

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema, not_null, strip_text

DESCRIPTION = Field(default=None, max_length=5000, description="Free text.", examples=["Spring drop, EU creators."])
STORY_CAPTURE = (
    "Manual story capture. Turning it on opens a window in `story_capture_history`, off closes it; "
    "stories are accepted only for times inside a window (not retroactive)."
)


class CampaignCreate(Schema):
    name: str = Field(min_length=1, max_length=200, description="Campaign name.", examples=["Spring drop 2026"])
    description: str | None = DESCRIPTION
    starts_on: date = Field(description="First day of the campaign.", examples=["2026-03-01"])
    ends_on: date | None = Field(default=None, description="Last day; null when open-ended.", examples=["2026-04-30"])
    story_capture: bool = Field(default=False, description=STORY_CAPTURE, examples=[True])

    _strip = field_validator("name", "description", mode="before")(strip_text)

    @model_validator(mode="after")
    def _dates(self) -> CampaignCreate:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class CampaignUpdate(Schema):
    """Only the fields sent change; `ends_on: null` makes the campaign open-ended."""

    name: str | None = Field(default=None, min_length=1, max_length=200, examples=["Spring drop (extended)"])
    description: str | None = DESCRIPTION
    starts_on: date | None = Field(default=None, examples=["2026-03-01"])
    ends_on: date | None = Field(default=None, examples=["2026-05-31"])
    story_capture: bool | None = Field(default=None, description=STORY_CAPTURE, examples=[False])

    _strip = field_validator("name", "description", mode="before")(strip_text)

    _not_null = field_validator("name", "starts_on", "story_capture")(not_null)


class StoryCaptureWindowRead(Schema):
    started_at: datetime = Field(description="When story capture was turned on.")
    ended_at: datetime | None = Field(description="When it was turned off; null while it is on.")


class CampaignRead(Schema):
    id: uuid.UUID
    name: str
    description: str | None
    starts_on: date
    ends_on: date | None
    story_capture: bool
    story_capture_history: list[StoryCaptureWindowRead] = Field(
        validation_alias="story_capture_windows", description="Every span story capture was on, oldest first."
    )
    created_at: datetime
    updated_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "3c0c8f3e-1d5b-4a8e-9a51-6b8f2f3d1e22",
                    "name": "Spring drop 2026",
                    "description": "Spring drop, EU creators.",
                    "starts_on": "2026-03-01",
                    "ends_on": "2026-04-30",
                    "story_capture": True,
                    "story_capture_history": [
                        {"started_at": "2026-03-01T09:00:00Z", "ended_at": "2026-03-10T18:00:00Z"},
                        {"started_at": "2026-03-15T09:00:00Z", "ended_at": None},
                    ],
                    "created_at": "2026-02-20T10:00:00Z",
                    "updated_at": "2026-03-15T09:00:00Z",
                }
            ]
        }
    }


class CampaignPage(Page[CampaignRead]):
    """A page of campaigns."""
