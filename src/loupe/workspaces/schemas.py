from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from loupe.kit.pagination import Page
from loupe.kit.schemas import Schema
from loupe.workspaces.models import Plan, Scope


class WorkspaceRead(Schema):
    id: uuid.UUID
    name: str
    plan: Plan = Field(description="`staging` (at most 25 connected accounts) or `production`.")
    created_at: datetime


class ApiKeyCreate(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["Reporting dashboard"])
    scopes: list[Scope] = Field(
        default=[Scope.read], min_length=1, description="`read`, or `read` and `write`.", examples=[["read"]]
    )


class ApiKeyRead(Schema):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="First characters of the key, to recognise it.", examples=["lp_Xk2f9a"])
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once: store it now.", examples=["lp_Xk2f9a..."])


class ApiKeyPage(Page[ApiKeyRead]):
    """A page of API keys."""
