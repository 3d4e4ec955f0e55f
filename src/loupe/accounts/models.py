"""What a connected account's platform tells us. Keyed by the connection (global: every workspace granted
the account reads the same data); what a brand sets by hand is per workspace (`ContentOverride`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow

EMPTY = text("'{}'::jsonb")


class AccountProfile(TimestampMixin, Base):
    __tablename__ = "account_profiles"

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(300))
    bio: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    website: Mapped[str | None] = mapped_column(Text)
    followers: Mapped[int | None]
    following: Mapped[int | None]
    content_count: Mapped[int | None]
    verified: Mapped[bool | None]
    account_type: Mapped[str | None] = mapped_column(String(40))
    extras: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProfileSnapshot(Base):
    """One per account and UTC day (a re-run that day overwrites it): the growth chart's points."""

    __tablename__ = "profile_snapshots"

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    taken_on: Mapped[date] = mapped_column(Date, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    followers: Mapped[int | None]
    following: Mapped[int | None]
    content_count: Mapped[int | None]
    extras: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=EMPTY)


class AccountAudience(Base):
    """The latest audience: top 3 countries and cities plus "others", ages and genders (percentages)."""

    __tablename__ = "account_audiences"

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True)
    available: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str | None] = mapped_column(Text)
    countries: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
    cities: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
    ages: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
    genders: Mapped[dict[str, float]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountContent(IdMixin, TimestampMixin, Base):
    """A post, reel, video, short, tweet, stream/VOD or story, with its latest API metrics."""

    __tablename__ = "account_contents"
    __table_args__ = (
        UniqueConstraint("connection_id", "platform_content_id"),
        Index("ix_account_contents_timeline", "connection_id", "published_at", "id"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    platform_content_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime | None]
    caption: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    permalink: Mapped[str | None] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    duration_seconds: Mapped[float | None]
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
    metrics_at: Mapped[datetime | None]
    extras: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=EMPTY)


class ContentMetricSnapshot(Base):
    """A content's metrics once per UTC day: how they grew."""

    __tablename__ = "content_metric_snapshots"

    content_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account_contents.id", ondelete="CASCADE"), primary_key=True
    )
    taken_on: Mapped[date] = mapped_column(Date, primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=EMPTY)


class ContentOverride(TimestampMixin, Base):
    """Metrics a workspace set by hand on a content: kept beside the API's, never overwritten by a refresh."""

    __tablename__ = "content_overrides"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    content_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("account_contents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=EMPTY)
