"""click and conversion roll-ups (hour and day grains, per breakdown key), built from the stored rows;
the workspace's time zone for the stats' days

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:00:00

The backfill runs in this migration under the roll-ups' exclusive advisory lock (a flush of the new code
waits, a flush of the old code does not know it). After a rolling deploy during which old workers still
flushed, run `loupe stats rebuild` once: it recounts in small chunks and is exact whatever ran before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUP_LOCK = 0x10E_0CC5

BACKFILL_CLICKS = """
INSERT INTO click_rollups (link_id, workspace_id, dimension, grain, bucket, key, clicks, unique_clicks, bot_clicks)
SELECT c.link_id, c.workspace_id, d.dimension, g.grain, g.bucket, d.key,
       count(*) FILTER (WHERE NOT c.bot),
       count(*) FILTER (WHERE NOT c.bot AND c.unique_visitor),
       count(*) FILTER (WHERE c.bot)
FROM clicks AS c
CROSS JOIN LATERAL (VALUES ('total', 'total'), ('country', coalesce(c.country, 'unknown')), ('device', c.device),
                           ('referrer', coalesce(c.referrer_host, 'direct'))) AS d (dimension, key)
CROSS JOIN LATERAL (VALUES ('hour', date_trunc('hour', c.clicked_at, 'UTC')),
                           ('day', date_trunc('day', c.clicked_at, 'UTC'))) AS g (grain, bucket)
GROUP BY 1, 2, 3, 4, 5, 6
"""

BACKFILL_CONVERSIONS = """
INSERT INTO conversion_rollups (link_id, workspace_id, dimension, grain, bucket, key, currency, conversions, revenue)
SELECT v.link_id, v.workspace_id, d.dimension, g.grain, g.bucket, d.key, coalesce(v.currency, ''),
       count(*), sum(v.value)
FROM conversions AS v
LEFT JOIN clicks AS c ON c.id = v.click_id AND c.clicked_at = v.clicked_at
CROSS JOIN LATERAL (VALUES ('total', 'total'),
                           ('country', CASE WHEN c.id IS NOT NULL THEN coalesce(c.country, 'unknown') END),
                           ('device', c.device),
                           ('referrer', CASE WHEN c.id IS NOT NULL THEN coalesce(c.referrer_host, 'direct') END)
                   ) AS d (dimension, key)
CROSS JOIN LATERAL (VALUES ('hour', date_trunc('hour', v.created_at, 'UTC')),
                           ('day', date_trunc('day', v.created_at, 'UTC'))) AS g (grain, bucket)
WHERE d.key IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


def _keys() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("link_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("workspace_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("grain", sa.Text(), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.add_column("workspaces", sa.Column("time_zone", sa.String(64), server_default="UTC", nullable=False))
    op.create_table(
        "click_rollups",
        *_keys(),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "link_id", "workspace_id", "dimension", "grain", "bucket", "key", name=op.f("pk_click_rollups")
        ),
    )
    op.create_table(
        "conversion_rollups",
        *_keys(),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("conversions", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(24, 4), nullable=True),
        sa.PrimaryKeyConstraint(
            "link_id",
            "workspace_id",
            "dimension",
            "grain",
            "bucket",
            "key",
            "currency",
            name=op.f("pk_conversion_rollups"),
        ),
    )
    op.execute(f"SELECT pg_advisory_xact_lock({ROLLUP_LOCK})")
    op.execute(BACKFILL_CLICKS)
    op.execute(BACKFILL_CONVERSIONS)


def downgrade() -> None:
    op.drop_table("conversion_rollups")
    op.drop_table("click_rollups")
    op.drop_column("workspaces", "time_zone")
