from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base, IdMixin, TimestampMixin


class Conversion(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversions"
    __table_args__ = (
        # The idempotency key: one conversion per external id in a workspace.
        UniqueConstraint("workspace_id", "external_id"),
        Index("ix_conversions_link_time", "link_id", "created_at"),
        Index("ix_conversions_workspace_time", "workspace_id", "created_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # The click's key in the partitioned `clicks` table (no foreign key: see clicks/models.py).
    click_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    clicked_at: Mapped[datetime]
    link_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event: Mapped[str] = mapped_column(String(100))
    value: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    currency: Mapped[str | None] = mapped_column(String(3))
    external_id: Mapped[str] = mapped_column(String(200))


class ConversionRollup(Base):
    """Conversions and revenue summed per scope (link, campaign, workspace), UTC hour or day of receipt, breakdown
    key and currency (`''` when the conversion has none); kept like `click_rollups` (clicks/rollups.py)."""

    __tablename__ = "conversion_rollups"

    scope_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # per `scope`
    workspace_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)  # link, campaign or workspace
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    grain: Mapped[str] = mapped_column(Text, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    conversions: Mapped[int] = mapped_column(BigInteger)
    revenue: Mapped[Decimal | None] = mapped_column(Numeric(24, 4))
