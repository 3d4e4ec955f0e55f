from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema


class AuditEventRead(Schema):
    id: uuid.UUID
    created_at: datetime = Field(description="When the write was made.")
    actor_type: Literal["person", "api_key"]
    actor_id: uuid.UUID = Field(description="The person's id, or the API key's.")
    action: str = Field(description="The operation id of the write.", examples=["links_update"])
    method: str = Field(examples=["PATCH"])
    path: str = Field(examples=["/v1/links/3f1c..."])
    resource_type: str = Field(description="The operation id without its verb.", examples=["links"])
    resource_id: str | None = Field(description="The resource written (its path id, or the one created).")
    address: str = Field(description="The address the request came from.", examples=["203.0.113.7"])


class AuditEventPage(Page[AuditEventRead]):
    """A page of audit events, newest first."""
