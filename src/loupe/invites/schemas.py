from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, EmailStr, Field

from loupe.invites.models import InviteStatus
from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema, strip_text

Name = Annotated[str, BeforeValidator(strip_text), Field(min_length=1, max_length=200)]
TEMPLATE_TAGS_DOC = "Merge tags: {{creator_name}}, {{invite_link}}, {{workspace_name}}."


class InviteCreate(Schema):
    name: Name = Field(description="The creator's name.", examples=["Ada Lovelace"])
    email: Annotated[EmailStr, BeforeValidator(strip_text)] = Field(
        description="Where the invite goes; unique in the workspace (case-insensitive).", examples=["ada@example.com"]
    )


class InviteRead(Schema):
    id: uuid.UUID
    influencer_id: uuid.UUID = Field(description="The CRM influencer the invite belongs to (reused by email).")
    name: str
    email: str
    status: InviteStatus = Field(
        description="`invited`: the email is sent, no account connected yet. `active`: at least one connected "
        "account is healthy. `action_needed`: accounts were connected but none is healthy now (disconnected, "
        "expired or revoked); reconnecting makes it `active` again."
    )
    link: str = Field(description="The creator's personal, unguessable link.")
    last_sent_at: datetime | None = Field(description="When the invite email was last queued.")
    created_at: datetime
    updated_at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "5d2c6f0e-8c1b-4e3a-9f4d-2a1b3c4d5e6f",
                    "influencer_id": "0b7c1f4e-2d7a-4a53-9d59-3f1c2b5e8a11",
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "status": "invited",
                    "link": "https://app.example.com/connect/Jx0b1Qm4t2w1X0eE8nX6p6v2m0yq5yY3b8s0F6r9QkA",
                    "last_sent_at": "2026-03-01T09:00:00Z",
                    "created_at": "2026-03-01T09:00:00Z",
                    "updated_at": "2026-03-01T09:00:00Z",
                }
            ]
        }
    }


class InvitePage(Page[InviteRead]):
    """A page of invites, newest first."""


class BulkInviteResult(Schema):
    created: int = Field(description="How many invites were created (every row of the file).", examples=[250])


class MergeTagRead(Schema):
    tag: str = Field(examples=["{{invite_link}}"])
    description: str


class InviteTemplateUpdate(Schema):
    subject: Annotated[str, BeforeValidator(strip_text)] = Field(
        min_length=1, max_length=300, description=TEMPLATE_TAGS_DOC, examples=["{{workspace_name}} invites you"]
    )
    body: str = Field(
        min_length=1,
        max_length=20_000,
        description=TEMPLATE_TAGS_DOC,
        examples=["Hi {{creator_name}},\n\nConnect your accounts: {{invite_link}}\n\n{{workspace_name}}"],
    )


class InviteTemplateRead(Schema):
    subject: str
    body: str
    is_default: bool = Field(description="True while the workspace has not saved a template of its own.")
    tags: list[MergeTagRead] = Field(description="The merge tags templates may use.")
    updated_at: datetime | None


class InviteTemplatePreviewRequest(Schema):
    invite_id: uuid.UUID | None = Field(
        default=None, description="Render for this invite; without it, with sample values."
    )
    subject: str | None = Field(
        default=None, min_length=1, max_length=300, description="A draft subject; the saved one by default."
    )
    body: str | None = Field(
        default=None, min_length=1, max_length=20_000, description="A draft body; the saved one by default."
    )


class InviteTemplatePreview(Schema):
    to: str = Field(examples=["ada@example.com"])
    subject: str = Field(examples=["Acme invites you"])
    body: str = Field(examples=["Hi Ada Lovelace,\n\nConnect your accounts: https://…/connect/…\n\nAcme"])
