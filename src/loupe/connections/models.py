"""Connections are global (one row per platform account, whichever workspaces it is granted to); grants,
failures and connect attempts belong to a workspace."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from loupe.connectors.platforms import PLATFORMS
from loupe.kit.db import Base, IdMixin, TimestampMixin, utcnow


class ConnectionStatus(StrEnum):
    active = "active"
    expired = "expired"  # the platform's authorisation lapsed: the creator must reconnect
    revoked = "revoked"  # the creator removed our app at the platform
    disconnected = "disconnected"  # the creator disconnected it from this workspace (grants only)


class Connection(IdMixin, TimestampMixin, Base):
    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("platform", "platform_user_id"),
        CheckConstraint(f"platform IN {PLATFORMS!r}", name="platform"),
        Index("ix_connections_authorizing_user", "platform", "authorizing_user_id"),
    )

    platform: Mapped[str] = mapped_column(String(16))
    # The account: Instagram user id, Page id, TikTok open_id, YouTube channel id (case kept), X / Twitch user id.
    platform_user_id: Mapped[str] = mapped_column(String(100))
    # Who authorised it: the Facebook user behind a Page or an Instagram account (Meta's callbacks name them).
    authorizing_user_id: Mapped[str | None] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(300))
    picture_url: Mapped[str | None] = mapped_column(Text)
    # MultiFernet tokens (loupe.connections.vault): never in a response, a log or an error.
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    data_access_expires_at: Mapped[datetime | None]
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.active.value)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_refreshed_at: Mapped[datetime | None]
    # The daily refresh (loupe.accounts): each account has its own slot, spread over the day.
    next_refresh_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Expiry reminders already sent, by kind and the expiry they announced ({"7d": iso, "1d": iso}).
    reminders: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))


class Grant(IdMixin, TimestampMixin, Base):
    """A connection as one workspace sees it: its own status, its influencer and the invite it came through."""

    __tablename__ = "connection_grants"
    __table_args__ = (
        UniqueConstraint("workspace_id", "connection_id"),
        Index("ix_connection_grants_workspace_listing", "workspace_id", "created_at", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"), index=True)
    invite_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invites.id", ondelete="CASCADE"), index=True)
    influencer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("influencers.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.active.value)
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    disconnected_at: Mapped[datetime | None]


class FailureReason(StrEnum):
    access_denied = "access_denied"  # the creator refused consent or cancelled
    permission_missing = "permission_missing"  # consent given without a permission we need
    not_professional_account = "not_professional_account"  # Instagram: personal account
    no_linked_page = "no_linked_page"  # Instagram: no Facebook Page linked to the account
    no_account = "no_account"  # e.g. a Google account without a YouTube channel
    invalid_state = "invalid_state"  # unknown, used or tampered state
    state_expired = "state_expired"  # the 10 minutes passed
    limit_reached = "limit_reached"  # staging plan: 25 connected accounts
    platform_error = "platform_error"  # the platform failed (5xx, rate limit, bad answer)


class ConnectionFailure(IdMixin, Base):
    __tablename__ = "connection_failures"
    __table_args__ = (Index("ix_connection_failures_workspace_listing", "workspace_id", "created_at", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    invite_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invites.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConnectAttempt(IdMixin, Base):
    """One trip to a platform's consent page: the `state` (stored as its SHA-256), bound to invite, platform
    and PKCE verifier, single use, 10 minutes. After the callback it may hold the token and the accounts to
    choose from (Instagram with several accounts), under a second single-use secret."""

    __tablename__ = "connect_attempts"

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    invite_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invites.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_verifier_enc: Mapped[str | None] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    choice_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pending_token_enc: Mapped[str | None] = mapped_column(Text)
    pending_accounts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeletionRequest(IdMixin, Base):
    """A platform's data-deletion request (Meta): its public status page is keyed by the confirmation code."""

    __tablename__ = "data_deletion_requests"

    confirmation_code: Mapped[str] = mapped_column(String(40), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_user_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="completed")
    accounts_deleted: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
