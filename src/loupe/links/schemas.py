from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema
from loupe.links.codes import public_url
from loupe.links.destinations import MAX_LENGTH, check_destination
from loupe.links.models import LinkKind, TrackingLink
from loupe.links.utm import UTM_FIELDS

NAME_DOC = (
    "Link name; `{{tracking_link:<name>}}` renders it in message templates, so it is unique (case-insensitive) "
    "among the live links a creator has in the campaign, and may not contain braces."
)
DESTINATION_DOC = (
    f"Absolute http(s) URL with a host, at most {MAX_LENGTH} characters; no credentials, whitespace or "
    "control characters. Its query is kept on redirect."
)
LABELS_DOC = "Free labels to group links (e.g. a platform or a content type); trimmed and de-duplicated."


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if "{" in value or "}" in value:
        raise ValueError("must not contain { or } (names are used in merge tags)")
    return value


def _labels(values: list[str]) -> list[str]:
    seen: list[str] = []
    for raw in values:
        label = raw.strip()
        if not label or len(label) > 50:
            raise ValueError("labels must be 1-50 characters")
        if label not in seen:
            seen.append(label)
    return seen


def _utm(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if any(not ch.isprintable() for ch in value):
        raise ValueError("must not contain control characters")
    return value or None


UTM = Field(default=None, max_length=200)


class LinkFields(Schema):
    name: str = Field(min_length=1, max_length=200, description=NAME_DOC, examples=["Spring sale"])
    destination: str = Field(description=DESTINATION_DOC, examples=["https://shop.example/spring"])
    labels: list[str] = Field(default_factory=list, max_length=20, description=LABELS_DOC, examples=[["tiktok"]])
    utm_source: str | None = Field(default=None, max_length=200, examples=["loupe"])
    utm_medium: str | None = Field(default=None, max_length=200, examples=["influencer"])
    utm_campaign: str | None = Field(default=None, max_length=200, examples=["spring-2026"])
    utm_term: str | None = Field(default=None, max_length=200)
    utm_content: str | None = Field(default=None, max_length=200)

    _name = field_validator("name")(_name)
    _destination = field_validator("destination")(check_destination)
    _labels = field_validator("labels")(_labels)
    _utm = field_validator(*UTM_FIELDS)(_utm)


class CampaignLinkCreate(LinkFields):
    """A campaign-level link: one destination; each creator past `applied` gets their own copy and code."""


class CreatorLinkCreate(LinkFields):
    """A creator-level link: its own destination, served at once."""

    campaign_id: uuid.UUID = Field(description="The campaign.", examples=["3c0c8f3e-1d5b-4a8e-9a51-6b8f2f3d1e22"])
    influencer_id: uuid.UUID = Field(
        description="A creator of that campaign.", examples=["0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11"]
    )


class LinkUpdate(Schema):
    """Only the fields sent change; a UTM field sent as null is removed."""

    name: str | None = Field(default=None, min_length=1, max_length=200, description=NAME_DOC)
    destination: str | None = Field(default=None, description=DESTINATION_DOC)
    labels: list[str] | None = Field(default=None, max_length=20, description=LABELS_DOC)
    utm_source: str | None = UTM
    utm_medium: str | None = UTM
    utm_campaign: str | None = UTM
    utm_term: str | None = UTM
    utm_content: str | None = UTM

    _utm = field_validator(*UTM_FIELDS)(_utm)

    @field_validator("name", "destination", "labels", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _name(value)

    @field_validator("destination")
    @classmethod
    def _valid_destination(cls, value: str) -> str:
        return check_destination(value)

    @field_validator("labels")
    @classmethod
    def _valid_labels(cls, value: list[str]) -> list[str]:
        return _labels(value)


class LinkRead(Schema):
    id: uuid.UUID
    kind: LinkKind = Field(
        description="`campaign`: a campaign-level link (a template: no code, no url; creators get copies). "
        "`creator`: a link served at `url`."
    )
    campaign_id: uuid.UUID | None
    influencer_id: uuid.UUID | None
    parent_link_id: uuid.UUID | None = Field(description="For a creator's copy, its campaign-level link.")
    name: str
    code: str | None = Field(description="Public code; null on campaign-level links.", examples=["k3Jx9_aQ"])
    url: str | None = Field(description="The public link to share; null on campaign-level links.")
    destination: str
    labels: list[str]
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, link: TrackingLink, base_url: str) -> LinkRead:
        url = public_url(link.code, base_url) if link.code else None
        data = {column: getattr(link, column) for column in cls.model_fields if hasattr(link, column)}
        return cls.model_validate({**data, "url": url, "archived": link.archived_at is not None})

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                    "kind": "creator",
                    "campaign_id": "3c0c8f3e-1d5b-4a8e-9a51-6b8f2f3d1e22",
                    "influencer_id": "0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11",
                    "parent_link_id": None,
                    "name": "Spring sale",
                    "code": "k3Jx9_aQ",
                    "url": "https://go.example.com/l/k3Jx9_aQ",
                    "destination": "https://shop.example/spring",
                    "labels": ["tiktok"],
                    "utm_source": "loupe",
                    "utm_medium": "influencer",
                    "utm_campaign": "spring-2026",
                    "utm_term": None,
                    "utm_content": None,
                    "archived": False,
                    "archived_at": None,
                    "created_at": "2026-03-01T09:00:00Z",
                    "updated_at": "2026-03-01T09:00:00Z",
                }
            ]
        }
    }


class LinkPage(Page[LinkRead]):
    """A page of tracking links, newest first."""
