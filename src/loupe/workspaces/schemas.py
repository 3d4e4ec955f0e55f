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
    connected_accounts: int = Field(description="Accounts connected to the workspace now (status `active`).")
    connected_accounts_limit: int | None = Field(
        description="The plan's limit: 25 on `staging`, null (none) on `production`. A connection beyond it is "
        "refused on the creator page and recorded as a `limit_reached` connection failure."
    )
    time_zone: str = Field(
        description="IANA time zone of the stats' days (`from`, `to`, `by_day`). Default `UTC`.",
        examples=["Europe/Paris"],
    )
    created_at: datetime


class WorkspaceUpdate(Schema):
    time_zone: str = Field(
        min_length=1,
        max_length=64,
        description="IANA time zone of the stats' days. Zones whose offset from UTC is not a whole number of hours "
        "(Asia/Kolkata, America/St_Johns…) are refused for now: the stats are summed by the UTC hour.",
        examples=["Europe/Paris"],
    )


class ConnectLink(Schema):
    url: str = Field(
        description="The workspace's connect link: any creator can open it, give a name and an email (which "
        "makes the influencer and the invite) and connect their accounts.",
        examples=["https://loupe.example.com/connect/w/9yV4..."],
    )


class ApiKeyCreate(Schema):
    name: str = Field(min_length=1, max_length=200, examples=["Reporting dashboard"])
    scopes: list[Scope] = Field(
        default=[Scope.read],
        min_length=1,
        description="`read` (every read), `write` (campaign data, conversions), `conversions` (only POST "
        "/v1/conversions: for a merchant's postback server), `admin` (keys, team, templates, audit log). "
        "`write` and `admin` include `read`.",
        examples=[["read"], ["conversions"]],
    )


class ApiKeyRead(Schema):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="First characters of the key, to recognise it.", examples=["lp_Xk2f9a"])
    scopes: list[Scope]
    created_at: datetime
    last_used_at: datetime | None
    created_by_person_id: uuid.UUID | None = Field(description="The person who made the key, if a person did.")
    created_by_key_id: uuid.UUID | None = Field(description="The key that made this one, if a key did.")


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown once: store it now.", examples=["lp_Xk2f9a..."])


class ApiKeyPage(Page[ApiKeyRead]):
    """A page of API keys."""
