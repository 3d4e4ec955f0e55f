"""connections, their grants per workspace, connect attempts, failures and data-deletion requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORMS = "('instagram', 'facebook', 'tiktok', 'youtube', 'twitter', 'twitch')"


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.add_column("workspaces", sa.Column("connect_token", sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f("uq_workspaces_connect_token"), "workspaces", ["connect_token"])

    op.create_table(
        "connections",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=100), nullable=False),
        sa.Column("authorizing_user_id", sa.String(length=100), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("picture_url", sa.Text(), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_access_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=200)), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_refreshed_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(f"platform IN {PLATFORMS}", name=op.f("ck_connections_platform")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("platform", "platform_user_id", name=op.f("uq_connections_platform_platform_user_id")),
    )
    op.create_index("ix_connections_authorizing_user", "connections", ["platform", "authorizing_user_id"])

    op.create_table(
        "connection_grants",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("invite_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disconnected_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _fk("connection_grants", "workspace_id", "workspaces"),
        _fk("connection_grants", "connection_id", "connections"),
        _fk("connection_grants", "invite_id", "invites"),
        _fk("connection_grants", "influencer_id", "influencers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_grants")),
        sa.UniqueConstraint(
            "workspace_id", "connection_id", name=op.f("uq_connection_grants_workspace_id_connection_id")
        ),
    )
    op.create_index("ix_connection_grants_workspace_listing", "connection_grants", ["workspace_id", "created_at", "id"])
    for column in ("connection_id", "invite_id", "influencer_id"):
        op.create_index(op.f(f"ix_connection_grants_{column}"), "connection_grants", [column])

    op.create_table(
        "connection_failures",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("invite_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("connection_failures", "workspace_id", "workspaces"),
        _fk("connection_failures", "invite_id", "invites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_failures")),
    )
    op.create_index(
        "ix_connection_failures_workspace_listing", "connection_failures", ["workspace_id", "created_at", "id"]
    )
    op.create_index(op.f("ix_connection_failures_invite_id"), "connection_failures", ["invite_id"])

    op.create_table(
        "connect_attempts",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("invite_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier_enc", sa.Text(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("choice_hash", sa.String(length=64), nullable=True),
        sa.Column("pending_token_enc", sa.Text(), nullable=True),
        sa.Column("pending_accounts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("connect_attempts", "workspace_id", "workspaces"),
        _fk("connect_attempts", "invite_id", "invites"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_attempts")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_connect_attempts_state_hash")),
        sa.UniqueConstraint("choice_hash", name=op.f("uq_connect_attempts_choice_hash")),
    )
    op.create_index(op.f("ix_connect_attempts_workspace_id"), "connect_attempts", ["workspace_id"])
    op.create_index(op.f("ix_connect_attempts_invite_id"), "connect_attempts", ["invite_id"])

    op.create_table(
        "data_deletion_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("confirmation_code", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("accounts_deleted", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_deletion_requests")),
        sa.UniqueConstraint("confirmation_code", name=op.f("uq_data_deletion_requests_confirmation_code")),
    )


def downgrade() -> None:
    op.drop_table("data_deletion_requests")
    op.drop_table("connect_attempts")
    op.drop_table("connection_failures")
    op.drop_table("connection_grants")
    op.drop_index("ix_connections_authorizing_user", table_name="connections")
    op.drop_table("connections")
    op.drop_constraint(op.f("uq_workspaces_connect_token"), "workspaces", type_="unique")
    op.drop_column("workspaces", "connect_token")
