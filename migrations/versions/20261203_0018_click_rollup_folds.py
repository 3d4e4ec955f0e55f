"""click_rollup_folds: click day rows are folded from hour rows once a UTC day is over

The flush used to add every click to its hour row and its day row; now it adds to hour rows only (and to
the day row of a day already folded, for a click that arrives late). `folded_until` (one row) is where the
day rows end: every UTC day before it has exact day rows, no day from it on has any. The worker folds each
day that is over (`fold_click_rollups`); reads take day rows before `folded_until`, hour rows after.

Starts at today (UTC): the day rows of the days before are exact, today's go (its hour rows hold it). A BRIN
index on `bucket` lets the fold find a day's rows without a scan and costs the flush next to nothing.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EPOCH = "timestamptz '2000-01-01 00:00:00+00'"


def upgrade() -> None:
    op.create_table(
        "click_rollup_folds",
        sa.Column("id", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("folded_until", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id", name=op.f("ck_click_rollup_folds_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_rollup_folds")),
    )
    op.execute(f"INSERT INTO click_rollup_folds (id, folded_until) VALUES (true, date_bin('1 day', now(), {EPOCH}))")
    op.create_index("ix_click_rollups_bucket", "click_rollups", ["bucket"], postgresql_using="brin")
    op.execute("ALTER TABLE click_rollups SET (fillfactor = 70)")
    op.execute(
        "DELETE FROM click_rollups WHERE grain = 'day' AND bucket >= (SELECT folded_until FROM click_rollup_folds)"
    )


def downgrade() -> None:
    # Day rows for every day again: the days not folded yet summed from their hour rows.
    op.execute(
        f"""INSERT INTO click_rollups (scope_id, workspace_id, scope, dimension, grain, bucket, key, clicks,
                                      unique_clicks, bot_clicks)
        SELECT scope_id, workspace_id, scope, dimension, 'day', date_bin('1 day', bucket, {EPOCH}), key,
               sum(clicks), sum(unique_clicks), sum(bot_clicks)
        FROM click_rollups
        WHERE grain = 'hour' AND bucket >= (SELECT folded_until FROM click_rollup_folds)
        GROUP BY 1, 2, 3, 4, 6, 7"""
    )
    op.drop_index("ix_click_rollups_bucket", table_name="click_rollups", postgresql_using="brin")
    op.drop_table("click_rollup_folds")
