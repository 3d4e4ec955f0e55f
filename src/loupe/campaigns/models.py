from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow

if TYPE_CHECKING:
    from loupe.influencers.models import Influencer


class Stage(StrEnum):
    applied = "applied"
    approved = "approved"
    active = "active"
    completed = "completed"
    declined = "declined"


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
        lazy="selectin", cascade="all, delete-orphan", order_by="StoryCaptureWindow.started_at"
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


class CampaignCreator(IdMixin, TimestampMixin, Base):
    """An influencer taking part in a campaign, at a stage of its workflow."""

    __tablename__ = "campaign_creators"
    __table_args__ = (
        UniqueConstraint("campaign_id", "influencer_id"),
        Index("ix_campaign_creators_listing", "campaign_id", "created_at", "id"),
        CheckConstraint(f"stage IN {tuple(s.value for s in Stage)!r}", name="stage"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    influencer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencers.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default=Stage.applied.value)
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=sql("now()"))

    influencer: Mapped[Influencer] = relationship(lazy="joined", innerjoin=True)


class Story(IdMixin, TimestampMixin, Base):
    """A story captured by hand for a creator of a campaign: its media and manually entered metrics."""

    __tablename__ = "stories"
    __table_args__ = (Index("ix_stories_listing", "campaign_id", "created_at", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    influencer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencers.id", ondelete="CASCADE"), index=True)
    posted_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)
    media_path: Mapped[str] = mapped_column(String(500))
    media_content_type: Mapped[str] = mapped_column(String(100))
    media_size: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=sql("'{}'::jsonb"))
    metrics_source: Mapped[str] = mapped_column(String(16), default="manual")
