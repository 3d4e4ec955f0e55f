"""clicks, orphan visits and conversions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:18:38.442843
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION loupe_tracking_links_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.code IS NOT NULL THEN
        PERFORM pg_notify('loupe_tracking_links', OLD.code);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.code IS NOT NULL THEN
        PERFORM pg_notify('loupe_tracking_links', NEW.code);
    END IF;
    RETURN NULL;
END
$$
"""


def _month(day: date, offset: int) -> date:
    index = day.year * 12 + day.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def upgrade() -> None:
    op.create_table(
        "click_visitors",
        sa.Column("link_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("link_id", "day", "visitor_hash", name=op.f("pk_click_visitors")),
    )
    op.create_index("ix_click_visitors_day", "click_visitors", ["day"], unique=False)
    op.create_table(
        "clicks",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=False),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("browser", sa.Text(), nullable=True),
        sa.Column("referrer_host", sa.Text(), nullable=True),
        sa.Column("bot", sa.Boolean(), nullable=False),
        sa.Column("bot_reason", sa.Text(), nullable=True),
        sa.Column("visitor_hash", sa.Text(), nullable=False),
        sa.Column("unique_visitor", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", "clicked_at", name=op.f("pk_clicks")),
        postgresql_partition_by="RANGE (clicked_at)",
    )
    op.create_index("ix_clicks_link_time", "clicks", ["link_id", "clicked_at"], unique=False)
    op.create_index("ix_clicks_workspace_time", "clicks", ["workspace_id", "clicked_at"], unique=False)
    op.create_table(
        "orphan_visits",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("device", sa.Text(), nullable=False),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("browser", sa.Text(), nullable=True),
        sa.Column("referrer_host", sa.Text(), nullable=True),
        sa.Column("bot", sa.Boolean(), nullable=False),
        sa.Column("bot_reason", sa.Text(), nullable=True),
        sa.Column("visitor_hash", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orphan_visits")),
    )
    op.create_index("ix_orphan_visits_time", "orphan_visits", ["visited_at"], unique=False)
    op.create_table(
        "conversions",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("click_id", sa.UUID(), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("link_id", sa.UUID(), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_conversions_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversions")),
        sa.UniqueConstraint("workspace_id", "external_id", name=op.f("uq_conversions_workspace_id_external_id")),
    )
    op.create_index("ix_conversions_link_time", "conversions", ["link_id", "created_at"], unique=False)
    op.create_index("ix_conversions_workspace_time", "conversions", ["workspace_id", "created_at"], unique=False)
    # Monthly partitions from last month to three months ahead (the cron job keeps extending them);
    # the default partition takes anything else, so no click is ever refused for want of one.
    op.execute("CREATE TABLE clicks_default PARTITION OF clicks DEFAULT")
    today = datetime.now(UTC).date()
    for offset in range(-1, 4):
        start, end = _month(today, offset), _month(today, offset + 1)
        op.execute(
            f"CREATE TABLE clicks_p{start.year:04d}{start.month:02d} PARTITION OF clicks "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    # The redirect caches links per process; this tells every process which code changed, at commit,
    # whoever wrote the row (see loupe/redirect/links.py).
    op.execute(NOTIFY_FUNCTION)
    op.execute(
        "CREATE TRIGGER tracking_links_notify AFTER INSERT OR UPDATE OR DELETE ON tracking_links "
        "FOR EACH ROW EXECUTE FUNCTION loupe_tracking_links_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS tracking_links_notify ON tracking_links")
    op.execute("DROP FUNCTION IF EXISTS loupe_tracking_links_notify()")
    op.drop_index("ix_conversions_workspace_time", table_name="conversions")
    op.drop_index("ix_conversions_link_time", table_name="conversions")
    op.drop_table("conversions")
    op.drop_index("ix_orphan_visits_time", table_name="orphan_visits")
    op.drop_table("orphan_visits")
    op.drop_index("ix_clicks_workspace_time", table_name="clicks")
    op.drop_index("ix_clicks_link_time", table_name="clicks")
    op.drop_table("clicks")
    op.drop_index("ix_click_visitors_day", table_name="click_visitors")
    op.drop_table("click_visitors")
