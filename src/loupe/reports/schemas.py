from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, field_validator

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema, not_null, strip_text

NAME = Field(min_length=1, max_length=200, description="Report name.", examples=["Spring launch 2026"])
DESCRIPTION = Field(
    default=None, max_length=5000, description="Free text.", examples=["All creators of the spring drop."]
)


class ReportCreate(Schema):
    name: str = NAME
    description: str | None = DESCRIPTION

    _strip = field_validator("name", "description", mode="before")(strip_text)


class ReportUpdate(Schema):
    """Only the fields sent are changed; `description: null` clears it."""

    name: str | None = Field(default=None, min_length=1, max_length=200, examples=["Spring launch (final)"])
    description: str | None = DESCRIPTION

    _strip = field_validator("name", "description", mode="before")(strip_text)
    _not_null = field_validator("name")(not_null)


class ReportRead(Schema):
    id: uuid.UUID
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "5f0c6f6e-8a57-4d43-a8c5-2b3f8f2d8e10",
                    "name": "Spring launch 2026",
                    "description": "All creators of the spring drop.",
                    "created_at": "2026-11-22T10:00:00Z",
                    "updated_at": "2026-11-22T10:00:00Z",
                }
            ]
        }
    }


class ReportPage(Page[ReportRead]):
    """A page of reports."""
