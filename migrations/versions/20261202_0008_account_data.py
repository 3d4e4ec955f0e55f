"""connected accounts' data: profiles, daily snapshots, audiences, contents, metric snapshots, overrides;
the refresh schedule on connections

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY = sa.text("'{}'::jsonb")


def _jsonb(name: str, default: sa.TextClause = EMPTY) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), server_default=default, nullable=False)


def _now(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=nullable)


def _connection(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["connection_id"], ["connections.id"], name=op.f(f"fk_{table}_connection_id_connections"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.add_column("connections", sa.Column("next_refresh_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("connections", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("connections", _jsonb("reminders"))
    op.create_index(op.f("ix_connections_next_refresh_at"), "connections", ["next_refresh_at"])

    op.create_table(
        "account_profiles",
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("website", sa.Text(), nullable=True),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("following", sa.Integer(), nullable=True),
        sa.Column("content_count", sa.Integer(), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("account_type", sa.String(length=40), nullable=True),
        _jsonb("extras"),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _connection("account_profiles"),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_account_profiles")),
    )
    op.create_table(
        "profile_snapshots",
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("following", sa.Integer(), nullable=True),
        sa.Column("content_count", sa.Integer(), nullable=True),
        _jsonb("extras"),
        _connection("profile_snapshots"),
        sa.PrimaryKeyConstraint("connection_id", "taken_on", name=op.f("pk_profile_snapshots")),
    )
    op.create_table(
        "account_audiences",
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _jsonb("countries"),
        _jsonb("cities"),
        _jsonb("ages"),
        _jsonb("genders"),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        _connection("account_audiences"),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_account_audiences")),
    )
    op.create_table(
        "account_contents",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("connection_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_content_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        _jsonb("media", sa.text("'[]'::jsonb")),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        _jsonb("metrics"),
        sa.Column("metrics_at", sa.DateTime(timezone=True), nullable=True),
        _jsonb("extras"),
        _now("created_at"),
        _now("updated_at"),
        _connection("account_contents"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_contents")),
        sa.UniqueConstraint(
            "connection_id", "platform_content_id", name=op.f("uq_account_contents_connection_id_platform_content_id")
        ),
    )
    op.create_index("ix_account_contents_timeline", "account_contents", ["connection_id", "published_at", "id"])
    op.create_table(
        "content_metric_snapshots",
        sa.Column("content_id", sa.UUID(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        _jsonb("metrics"),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["account_contents.id"],
            name=op.f("fk_content_metric_snapshots_content_id_account_contents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("content_id", "taken_on", name=op.f("pk_content_metric_snapshots")),
    )
    op.create_table(
        "content_overrides",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("content_id", sa.UUID(), nullable=False),
        _jsonb("metrics"),
        _now("created_at"),
        _now("updated_at"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_content_overrides_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["account_contents.id"],
            name=op.f("fk_content_overrides_content_id_account_contents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "content_id", name=op.f("pk_content_overrides")),
    )
    op.create_index(op.f("ix_content_overrides_content_id"), "content_overrides", ["content_id"])


def downgrade() -> None:
    for table in (
        "content_overrides",
        "content_metric_snapshots",
        "account_contents",
        "account_audiences",
        "profile_snapshots",
        "account_profiles",
    ):
        op.drop_table(table)
    op.drop_index(op.f("ix_connections_next_refresh_at"), table_name="connections")
    for column in ("reminders", "last_error", "next_refresh_at"):
        op.drop_column("connections", column)
