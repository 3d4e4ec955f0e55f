"""A campaign and the history of its story-capture toggle."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow


class Campaign(IdMixin, TimestampMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (
        Index("ix_campaigns_workspace_listing", "workspace_id", "created_at", "id"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    # The toggle's history; the toggle itself is "has an open window".
    story_capture_windows: Mapped[list[StoryCaptureWindow]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True, order_by="StoryCaptureWindow.started_at"
    )

    @property
    def story_capture(self) -> bool:
        return any(w.ended_at is None for w in self.story_capture_windows)


class StoryCaptureWindow(IdMixin, Base):
    """One span during which story capture was on: opened by turning it on, closed by turning it off."""

    __tablename__ = "story_capture_windows"
    __table_args__ = (
        # At most one open window per campaign.
        Index(
            "ix_story_capture_windows_open",
            "campaign_id",
            unique=True,
            postgresql_where=sql("ended_at IS NULL"),
        ),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
