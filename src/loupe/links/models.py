"""`tracking_links`, as docs/links-contract.md defines it (the redirect reads it with plain SQL)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base, IdMixin, TimestampMixin
from loupe.kit.errors import explain_conflict
from loupe.links.utm import UTM_FIELDS

# What creation and edits set (codes, kinds and owners never change); a campaign-level link's copies carry the same.
LINK_FIELDS = ("name", "destination", "labels", *UTM_FIELDS)


class LinkKind(StrEnum):
    campaign = "campaign"  # a template: no code of its own; each creator past "applied" gets a copy
    creator = "creator"


class TrackingLink(IdMixin, TimestampMixin, Base):
    __tablename__ = "tracking_links"
    __table_args__ = (
        Index("ix_tracking_links_workspace_listing", "workspace_id", "created_at", "id"),
        # Idempotent generation: never two copies of a campaign-level link for one creator.
        Index(
            "ix_tracking_links_parent_influencer",
            "parent_link_id",
            "influencer_id",
            unique=True,
            postgresql_where=text("parent_link_id IS NOT NULL"),
        ),
        CheckConstraint("kind IN ('campaign', 'creator')", name="kind"),
        CheckConstraint("(kind = 'campaign') = (code IS NULL)", name="code_by_kind"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    influencer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("influencers.id"), index=True)
    parent_link_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tracking_links.id"))
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text, unique=True)
    destination: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    utm_source: Mapped[str | None] = mapped_column(Text)
    utm_medium: Mapped[str | None] = mapped_column(Text)
    utm_campaign: Mapped[str | None] = mapped_column(Text)
    utm_term: Mapped[str | None] = mapped_column(Text)
    utm_content: Mapped[str | None] = mapped_column(Text)
    archived_at: Mapped[datetime | None]


# Links are never deleted, so what they belong to cannot be deleted either (their foreign keys refuse it).
explain_conflict(
    "fk_tracking_links_campaign_id_campaigns",
    "This campaign has tracking links, which are never deleted (archive them instead); the campaign cannot be deleted.",
)
explain_conflict(
    "fk_tracking_links_influencer_id_influencers",
    "This influencer has tracking links, which are never deleted (their clicks stay reportable); "
    "the influencer cannot be deleted.",
)
