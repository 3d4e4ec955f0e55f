from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ARRAY, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loupe.kit.db import Base, IdMixin, TimestampMixin


class Plan(StrEnum):
    staging = "staging"
    production = "production"


class Scope(StrEnum):
    """What an API key may do: `read` everything; `write` campaign data (and post conversions); only post
    `conversions` (a merchant's postback server); `admin`: keys, team, templates and the audit log."""

    read = "read"
    write = "write"
    conversions = "conversions"
    admin = "admin"


class Workspace(IdMixin, TimestampMixin, Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[Plan] = mapped_column(Enum(Plan, name="workspace_plan"), default=Plan.staging)
    # The secret of the brand-wide connect link (GET /v1/workspace/connect-link makes it on first use).
    connect_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # IANA name; the stats' days are this zone's days (whole-hour offsets only: roll-ups are hourly).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # The agency (or company) that owns it, if any: its admins administer it.
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    # Set when its owner deletes it: nobody reaches it from then on; the worker erases it a while later.
    deleted_at: Mapped[datetime | None]

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="workspace", lazy="raise")


class ApiKey(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_workspace_listing", "workspace_id", "created_at", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Who made it: a person, or another key (or neither: the workspace's first key, made with it).
    created_by_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_by_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))

    workspace: Mapped[Workspace] = relationship(back_populates="api_keys", lazy="raise")
