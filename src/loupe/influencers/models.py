from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from loupe.connectors.platforms import PLATFORMS
from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow
from loupe.kit.errors import explain_conflict

LIST_NAME_INDEX = "ix_influencer_lists_workspace_name"


class Influencer(IdMixin, TimestampMixin, Base):
    __tablename__ = "influencers"
    __table_args__ = (
        Index("ix_influencers_workspace_listing", "workspace_id", "created_at", "id"),
        # Tag filters use array containment.
        Index("ix_influencers_tags", "tags", postgresql_using="gin"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list, server_default=text("'{}'"))

    profiles: Mapped[list[InfluencerProfile]] = relationship(
        back_populates="influencer",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(InfluencerProfile.platform, InfluencerProfile.handle)",
    )


class InfluencerProfile(IdMixin, TimestampMixin, Base):
    """A public social identity of an influencer; the platform user id is filled once known."""

    __tablename__ = "influencer_profiles"
    __table_args__ = (
        UniqueConstraint("influencer_id", "platform", "handle"),
        CheckConstraint(f"platform IN {PLATFORMS!r}", name="platform"),
        Index("ix_influencer_profiles_platform_handle", "platform", "handle"),
    )

    influencer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencers.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(100))
    platform_user_id: Mapped[str | None] = mapped_column(String(100))

    influencer: Mapped[Influencer] = relationship(back_populates="profiles", lazy="raise")


class InfluencerList(IdMixin, TimestampMixin, Base):
    """A named set of the workspace's influencers ("My Influencers" lists)."""

    __tablename__ = "influencer_lists"
    __table_args__ = (
        Index("ix_influencer_lists_workspace_listing", "workspace_id", "created_at", "id"),
        Index(LIST_NAME_INDEX, "workspace_id", text("lower(name)"), unique=True),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))


class InfluencerListMember(Base):
    __tablename__ = "influencer_list_members"

    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencer_lists.id", ondelete="CASCADE"), primary_key=True)
    influencer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("influencers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


explain_conflict(LIST_NAME_INDEX, "A list with this name already exists in the workspace.")
