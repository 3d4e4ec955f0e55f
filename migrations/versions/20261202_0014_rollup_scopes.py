"""roll-ups at campaign and workspace scope beside the link's: `link_id` becomes `scope_id`, with `scope`

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 13:00:00

A campaign's or a workspace's figures are then one scope's rows, read like one link's, whatever the number
of links. The new rows are summed from the link rows under the roll-ups' exclusive advisory lock (flushes of
the new code wait; after a rolling deploy, run `loupe stats rebuild` once, as for 0010).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUP_LOCK = 0x10E_0CC5
TABLES = {
    "click_rollups": (
        "",
        "sum(r.clicks), sum(r.unique_clicks), sum(r.bot_clicks)",
        "clicks, unique_clicks, bot_clicks",
    ),
    "conversion_rollups": (", r.currency", "sum(r.conversions), sum(r.revenue)", "currency, conversions, revenue"),
}
SCOPES = {"campaign": "l.campaign_id", "workspace": "r.workspace_id"}


def upgrade() -> None:
    for table in TABLES:
        op.alter_column(table, "link_id", new_column_name="scope_id")
        op.add_column(table, sa.Column("scope", sa.Text(), server_default="link", nullable=False))
        op.alter_column(table, "scope", server_default=None)
    op.execute(f"SELECT pg_advisory_xact_lock({ROLLUP_LOCK})")
    for table, (currency, sums, columns) in TABLES.items():
        for scope, scope_id in SCOPES.items():
            op.execute(f"""
                INSERT INTO {table} (scope, scope_id, workspace_id, dimension, grain, bucket, key, {columns})
                SELECT '{scope}', {scope_id}, r.workspace_id, r.dimension, r.grain, r.bucket, r.key{currency}, {sums}
                FROM {table} AS r LEFT JOIN tracking_links AS l ON l.id = r.scope_id
                WHERE r.scope = 'link' AND {scope_id} IS NOT NULL
                GROUP BY 1, 2, 3, 4, 5, 6, 7{", 8" if currency else ""}
            """)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DELETE FROM {table} WHERE scope <> 'link'")
        op.drop_column(table, "scope")
        op.alter_column(table, "scope_id", new_column_name="link_id")
