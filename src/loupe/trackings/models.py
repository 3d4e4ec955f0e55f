"""Trackings (criteria inside a report), the profiles they follow and the contents they matched."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from loupe.connectors.platforms import PLATFORMS
from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow
from loupe.kit.errors import explain_conflict

NAME_INDEX = "ix_trackings_workspace_name"
DUPLICATE_NAME = "A tracking with this name already exists in the workspace (names are case-insensitive)."
EMPTY = text("'{}'")


class Tracking(IdMixin, TimestampMixin, Base):
    __tablename__ = "trackings"
    __table_args__ = (
        # Unique in the workspace whatever the case, across its reports: the database settles concurrent requests.
        Index(NAME_INDEX, "workspace_id", text("lower(name)"), unique=True),
        Index("ix_trackings_report_listing", "report_id", "created_at", "id"),
        CheckConstraint(f"network IN {PLATFORMS!r}", name="network"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="span"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    network: Mapped[str] = mapped_column(String(16))
    # Normalised terms (loupe.trackings.terms): hashtags and mentions without their sign, keywords folded.
    hashtags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default=EMPTY)
    mentions: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default=EMPTY)
    keywords: Mapped[list[str]] = mapped_column(ARRAY(String(300)), default=list, server_default=EMPTY)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)


class TrackingProfile(IdMixin, Base):
    """A profile a tracking follows: a handle on the tracking's network (a YouTube channel id, case kept,
    is its own handle), the platform's user id once known, the CRM influencer it belongs to if any."""

    __tablename__ = "tracking_profiles"
    __table_args__ = (
        UniqueConstraint("tracking_id", "handle"),
        Index("ix_tracking_profiles_listing", "tracking_id", "created_at", "id"),
        # Which trackings follow an account: by handle or by platform user id.
        Index("ix_tracking_profiles_platform_handle", "platform", text("lower(handle)")),
        Index("ix_tracking_profiles_platform_user", "platform", "platform_user_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    tracking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trackings.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(100))
    platform_user_id: Mapped[str | None] = mapped_column(String(100))
    influencer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("influencers.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackedContent(IdMixin, Base):
    """A content a tracking collected: an API content of a connected account or a story captured by hand,
    with the terms it matched. What the reports add up."""

    __tablename__ = "tracked_contents"
    __table_args__ = (
        UniqueConstraint("tracking_id", "content_id"),
        UniqueConstraint("tracking_id", "story_id"),
        CheckConstraint("(content_id IS NULL) <> (story_id IS NULL)", name="one_source"),
        Index("ix_tracked_contents_timeline", "tracking_id", "published_at", "id"),
        Index("ix_tracked_contents_report", "report_id", "published_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    tracking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trackings.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tracking_profiles.id", ondelete="SET NULL"), index=True
    )
    content_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("account_contents.id", ondelete="CASCADE"), index=True
    )
    story_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    network: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime]
    matched_terms: Mapped[list[str]] = mapped_column(ARRAY(String(300)))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


explain_conflict(NAME_INDEX, DUPLICATE_NAME)


class TrackingInvite(Base):
    """An invite that came through a tracking's opt-in link: the accounts it connects join the tracking."""

    __tablename__ = "tracking_invites"

    tracking_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("trackings.id", ondelete="CASCADE"), primary_key=True)
    invite_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invites.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Report analytics read these, never tracked_contents: database triggers (migration 0015) keep them exact in the
# transaction of every change to what they derive from. A "scope" is the whole report (scope_id = report_id:
# each content once, as collected by its first tracked row) or one of its trackings (scope_id = tracking_id).


class ReportContent(Base):
    """A content in a scope with what the reports show of it: its effective metrics (the workspace's override,
    else the API's, else a manual story's), creator, network, type and UTC day of publication."""

    __tablename__ = "report_contents"
    __table_args__ = (
        Index("ix_report_contents_timeline", "report_id", "scope_id", "published_at", "source_id"),
        Index("ix_report_contents_top", "report_id", "scope_id", "engagements"),
    )

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)  # the content's or the story's id
    tracked_id: Mapped[uuid.UUID]
    tracking_id: Mapped[uuid.UUID]
    content_id: Mapped[uuid.UUID | None]
    story_id: Mapped[uuid.UUID | None]
    network: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime]
    day: Mapped[date] = mapped_column(Date)
    matched_terms: Mapped[list[str]] = mapped_column(ARRAY(String(300)))
    creator: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str | None] = mapped_column(String(100))
    likes: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    saves: Mapped[int | None] = mapped_column(BigInteger)
    views: Mapped[int | None] = mapped_column(BigInteger)
    reach: Mapped[int | None] = mapped_column(BigInteger)
    engagements: Mapped[int] = mapped_column(BigInteger)


class _Sums:
    """Additive figures of a roll-up row (null metrics count as 0)."""

    contents: Mapped[int] = mapped_column(BigInteger)
    likes: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)
    shares: Mapped[int] = mapped_column(BigInteger)
    saves: Mapped[int] = mapped_column(BigInteger)
    views: Mapped[int] = mapped_column(BigInteger)
    reach: Mapped[int] = mapped_column(BigInteger)
    engagements: Mapped[int] = mapped_column(BigInteger)


class ReportCreatorRollup(_Sums, Base):
    """A scope's figures per creator, network and type over all time: the summary without a date range (its
    distinct creators and networks too, since both are in the key)."""

    __tablename__ = "report_creator_rollups"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), primary_key=True)
    creator: Mapped[str] = mapped_column(String(200), primary_key=True)


class ReportPeriodRollup(_Sums, Base):
    """A scope's figures per creator, network and type in one UTC day (grain 'day') or month ('month',
    period: its first day): a summary over a date range adds up the months inside it and the days at its
    edges. A row is deleted when it falls to 0 contents."""

    __tablename__ = "report_period_rollups"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(5), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    type: Mapped[str] = mapped_column(String(20), primary_key=True)
    creator: Mapped[str] = mapped_column(String(200), primary_key=True)


class ReportDayRollup(_Sums, Base):
    """A scope's figures per UTC day and network ('' = every network), with its distinct creators."""

    __tablename__ = "report_day_rollups"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    stories: Mapped[int] = mapped_column(BigInteger)
    creators: Mapped[int] = mapped_column(BigInteger)


class ReportDayCreator(Base):
    """How many contents a creator has in a scope's day and network ('' = every network): the day's distinct
    creators change when one of these leaves or reaches 0 (a row at 0 may stay)."""

    __tablename__ = "report_day_creators"

    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    creator: Mapped[str] = mapped_column(String(200), primary_key=True)
    contents: Mapped[int] = mapped_column(BigInteger)
