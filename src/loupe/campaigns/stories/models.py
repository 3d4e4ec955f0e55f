"""A story of a campaign's creator: its media and its metrics."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base, IdMixin, TimestampMixin


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
