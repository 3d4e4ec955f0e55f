"""Tables of clicks, orphan visits and first visits. Written with plain SQL by the flush (store.py);
declared here so alembic and the test reset see them.

`clicks` is range-partitioned by month on `clicked_at` (partitions: partitions.py). No foreign keys on
the click tables: a click for a link or workspace that disappeared must not block the stream.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, DateTime, Index, LargeBinary, Text, true
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base

PARTITION_TABLES = r"^clicks_(p\d{6}|default)$"  # created by migrations and cron, not by the models


class Click(Base):
    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_link_time", "link_id", "clicked_at"),
        Index("ix_clicks_workspace_time", "workspace_id", "clicked_at"),
        {"postgresql_partition_by": "RANGE (clicked_at)"},
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    clicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    link_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    country: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str] = mapped_column(Text)
    os: Mapped[str | None] = mapped_column(Text)
    browser: Mapped[str | None] = mapped_column(Text)
    referrer_host: Mapped[str | None] = mapped_column(Text)
    bot: Mapped[bool] = mapped_column(Boolean)
    bot_reason: Mapped[str | None] = mapped_column(Text)
    visitor_hash: Mapped[str] = mapped_column(Text)
    unique_visitor: Mapped[bool] = mapped_column(Boolean)


class OrphanVisit(Base):
    """A visit to a code that no link has (typos, scans, stale links): counted, never redirected."""

    __tablename__ = "orphan_visits"
    __table_args__ = (Index("ix_orphan_visits_time", "visited_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    visited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    code: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    device: Mapped[str] = mapped_column(Text)
    os: Mapped[str | None] = mapped_column(Text)
    browser: Mapped[str | None] = mapped_column(Text)
    referrer_host: Mapped[str | None] = mapped_column(Text)
    bot: Mapped[bool] = mapped_column(Boolean)
    bot_reason: Mapped[str | None] = mapped_column(Text)
    visitor_hash: Mapped[str] = mapped_column(Text)


class ClickVisitor(Base):
    """One row per (link, UTC day, visitor hash): its first click that day is the unique one."""

    __tablename__ = "click_visitors"
    __table_args__ = (Index("ix_click_visitors_day", "day"),)

    link_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    visitor_hash: Mapped[str] = mapped_column(Text, primary_key=True)


class VisitorSalt(Base):
    """The random salt of one UTC day's visitor hashes; deleted once the day is over."""

    __tablename__ = "visitor_salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)


class ClickRollup(Base):
    """Clicks summed per scope (a link, a campaign or a workspace), UTC hour or UTC day, and one breakdown key
    (rollups.py says how they stay exact).

    `dimension` is `total` (key `total`), `country`, `device` or `referrer`; `grain` is `hour` or `day`.
    Day rows make long ranges cheap to read; hour rows make any whole-hour time zone's days exact. Day rows
    exist for the folded days only (`ClickRollupFold`).
    """

    __tablename__ = "click_rollups"
    __table_args__ = (Index("ix_click_rollups_bucket", "bucket", postgresql_using="brin"),)

    scope_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # per `scope`
    workspace_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    scope: Mapped[str] = mapped_column(Text)  # link, campaign or workspace
    dimension: Mapped[str] = mapped_column(Text, primary_key=True)
    grain: Mapped[str] = mapped_column(Text, primary_key=True)
    bucket: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    clicks: Mapped[int] = mapped_column(BigInteger)
    unique_clicks: Mapped[int] = mapped_column(BigInteger)
    bot_clicks: Mapped[int] = mapped_column(BigInteger)


class ClickRollupFold(Base):
    """Where the click day rows end (one row): every UTC day before `folded_until` has exact day rows, folded
    from its hour rows once it was over; no later day has any (reads sum its hour rows)."""

    __tablename__ = "click_rollup_folds"
    __table_args__ = (CheckConstraint("id", name="one_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=true())
    folded_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
