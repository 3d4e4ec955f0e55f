"""A creator of a campaign: an influencer of the workspace at a stage of the campaign's workflow."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loupe.influencers.models import Influencer
from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow


class Stage(StrEnum):
    applied = "applied"
    approved = "approved"
    active = "active"
    completed = "completed"
    declined = "declined"


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

    influencer: Mapped[Influencer] = relationship(lazy="raise")
