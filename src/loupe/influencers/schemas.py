from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field, field_validator

from loupe.connectors.platforms import Platform
from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema, not_null, strip_text

_HANDLE = re.compile(r"^[a-z0-9._-]{1,100}$")

NAME = Field(min_length=1, max_length=200, description="The influencer's name.", examples=["Ada Lovelace"])
EMAIL = Field(default=None, description="Contact email (validated).", examples=["ada@example.com"])
TAGS: Any = Field(
    default_factory=list,
    max_length=50,
    description="Free labels; trimmed, lower-cased and de-duplicated (tags are case-insensitive).",
    examples=[["vip", "beauty"]],
)


def normalise_tags(tags: list[str]) -> list[str]:
    seen: list[str] = []
    for raw in tags:
        tag = raw.strip().lower()
        if not tag:
            raise ValueError("tags must not be blank")
        if len(tag) > 100:
            raise ValueError("tags are at most 100 characters")
        if tag not in seen:
            seen.append(tag)
    return seen


class ProfileIn(Schema):
    platform: Platform = Field(description="The social network.", examples=["instagram"])
    handle: str = Field(
        description="The handle; a leading @ is removed and it is lower-cased.", examples=["@Ada.Codes"]
    )

    @field_validator("handle", mode="before")
    @classmethod
    def _normalise(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lstrip("@").lower()
        return value

    @field_validator("handle")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not _HANDLE.match(value):
            raise ValueError("must be 1-100 letters, digits, dots, underscores or hyphens (an optional leading @)")
        return value


def _unique_profiles(profiles: list[ProfileIn] | None) -> list[ProfileIn] | None:
    if profiles is None:
        return None
    seen: set[tuple[str, str]] = set()
    for profile in profiles:
        key = (profile.platform.value, profile.handle)
        if key in seen:
            raise ValueError(f"{profile.platform.value} profile @{profile.handle} is listed twice")
        seen.add(key)
    return profiles


class InfluencerCreate(Schema):
    name: str = NAME
    email: EmailStr | None = EMAIL
    tags: list[str] = TAGS
    profiles: list[ProfileIn] = Field(default_factory=list, max_length=50, description="Social profiles.")

    _strip = field_validator("name", "email", mode="before")(strip_text)
    _tags = field_validator("tags")(normalise_tags)
    _profiles = field_validator("profiles")(_unique_profiles)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "tags": ["vip"],
                    "profiles": [{"platform": "instagram", "handle": "@ada.codes"}],
                }
            ]
        }
    }


class InfluencerUpdate(Schema):
    """Only the fields sent change. `profiles`, when sent, replaces the whole set (kept profiles keep their id)."""

    name: str | None = Field(default=None, min_length=1, max_length=200, examples=["Ada King"])
    email: EmailStr | None = EMAIL
    tags: list[str] | None = Field(default=None, max_length=50, examples=[["vip"]])
    profiles: list[ProfileIn] | None = Field(default=None, max_length=50)

    _strip = field_validator("name", "email", mode="before")(strip_text)
    _profiles = field_validator("profiles")(_unique_profiles)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str]:
        if value is None:
            raise ValueError("must be a list (send [] to clear)")
        return normalise_tags(value)

    _not_null = field_validator("name")(not_null)


class ProfileRead(Schema):
    id: uuid.UUID
    platform: Platform
    handle: str = Field(examples=["ada.codes"])
    platform_user_id: str | None = Field(description="The platform's id for the account, once known.")


class InfluencerRead(Schema):
    id: uuid.UUID
    name: str
    email: str | None
    tags: list[str]
    profiles: list[ProfileRead]
    created_at: datetime
    updated_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11",
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "tags": ["vip"],
                    "profiles": [
                        {
                            "id": "7d3e2c1b-4a5f-4e6d-8c9b-0a1b2c3d4e5f",
                            "platform": "instagram",
                            "handle": "ada.codes",
                            "platform_user_id": None,
                        }
                    ],
                    "created_at": "2026-11-22T10:00:00Z",
                    "updated_at": "2026-11-22T10:00:00Z",
                }
            ]
        }
    }


class InfluencerPage(Page[InfluencerRead]):
    """A page of influencers."""


class ListCreate(Schema):
    name: str = Field(min_length=1, max_length=200, description="Unique in the workspace, whatever the case.")

    _strip = field_validator("name", mode="before")(strip_text)

    model_config = {"json_schema_extra": {"examples": [{"name": "VIP creators"}]}}


class ListRead(Schema):
    id: uuid.UUID
    name: str
    members: int = Field(description="How many influencers are in the list.")
    created_at: datetime
    updated_at: datetime


class ListPage(Page[ListRead]):
    """A page of influencer lists, newest first."""


class MembersChange(Schema):
    influencer_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000, description="Influencers of the workspace.")


class MembersChanged(Schema):
    changed: int = Field(description="How many were added (or removed); ids already in (or not in) the list count 0.")
    members: int = Field(description="How many influencers the list holds now.")


class ImportResult(Schema):
    created: int = Field(description="Influencers created (all the file's rows).", examples=[120])
