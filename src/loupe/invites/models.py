"""`invites` (one per creator email in a workspace) and the workspace's `invite_templates`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from loupe.kit.db import Base, IdMixin, TimestampMixin
from loupe.kit.errors import explain_conflict

DUPLICATE_EMAIL = "This email already exists; try using another email."
EMAIL_INDEX = "ix_invites_workspace_email"


class InviteStatus(StrEnum):
    invited = "invited"  # the email went (or is going) out; the creator has not connected yet
    active = "active"  # connected accounts (with creator connections)
    action_needed = "action_needed"  # a connection needs the creator again (with creator connections)


class Invite(IdMixin, TimestampMixin, Base):
    __tablename__ = "invites"
    __table_args__ = (
        Index("ix_invites_workspace_listing", "workspace_id", "created_at", "id"),
        # One invite per email in a workspace, case-insensitive: the database settles concurrent requests.
        Index(EMAIL_INDEX, "workspace_id", text("lower(email)"), unique=True),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    influencer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # The secret of the invite link: 32 random bytes (secrets.token_urlsafe), unique.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=InviteStatus.invited.value)
    last_sent_at: Mapped[datetime | None]


class InviteTemplate(TimestampMixin, Base):
    """The workspace's invite email; absent until saved (the default applies)."""

    __tablename__ = "invite_templates"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)


explain_conflict(EMAIL_INDEX, DUPLICATE_EMAIL)
