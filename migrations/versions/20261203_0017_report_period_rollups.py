"""report_period_rollups: a report scope's figures per creator, network and type for each UTC day and each
month, so a summary over a date range adds up a few narrow rows per day at its edges and one per month
inside it, instead of every content of the range

Kept by the same triggers as the roll-ups of 0015: `report_contents_sync` now also calls
`report_periods_add` after each `report_rollups_add`. A row that falls to 0 contents is deleted at once
(by its key, under the row lock its update took), so no sync ever scans a scope.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRICS = ("likes", "comments", "shares", "saves", "views", "reach")
SUMS = ("contents", *METRICS, "engagements")
KEY = ("report_id", "scope_id", "grain", "period", "network", "type", "creator")


def _summed(sign: str = "") -> str:
    return f"{sign}count(*), " + ", ".join(f"{sign}coalesce(sum({name}), 0)" for name in (*METRICS, "engagements"))


# Each fact once per grain: its day, and its month (as the month's first day).
PERIODS = "LATERAL (VALUES ('day', f.day), ('month', date_trunc('month', f.day)::date)) AS g(grain, period)"
SELECT_PERIODS = f"""
    SELECT f.report_id, f.scope_id, g.grain, g.period, f.network, f.type, f.creator, {{sums}}
    FROM {{facts}} AS f, {PERIODS}
    GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
"""

PERIODS_ADD = f"""
CREATE FUNCTION report_periods_add(sources uuid[], sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH facts AS MATERIALIZED (
        SELECT f.* FROM report_contents AS f JOIN reports AS r ON r.id = f.report_id
        WHERE f.source_id IN (SELECT unnest(sources))
    )
    INSERT INTO report_period_rollups AS x ({", ".join(KEY)}, {", ".join(SUMS)})
    {SELECT_PERIODS.format(sums=_summed("sign * "), facts="facts")}
    ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET {", ".join(f"{n} = x.{n} + excluded.{n}" for n in SUMS)};
    IF sign < 0 THEN  -- the rows these contents leave empty: each one this transaction just updated
        DELETE FROM report_period_rollups AS x
        USING (SELECT DISTINCT f.report_id, f.scope_id, g.grain, g.period, f.network, f.type, f.creator
               FROM report_contents AS f, {PERIODS} WHERE f.source_id IN (SELECT unnest(sources))) AS k
        WHERE ({", ".join(f"x.{c}" for c in KEY)}) = ({", ".join(f"k.{c}" for c in KEY)}) AND x.contents = 0;
    END IF;
END $$
"""


def _revision_0015() -> ModuleType:
    """The roll-up functions as 0015 wrote them: this revision extends its sync, its downgrade restores it."""
    path = next(Path(__file__).parent.glob("*_0015_report_rollups.py"))
    spec = importlib.util.spec_from_file_location("revision_0015", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sync(with_periods: bool) -> str:
    sync = _revision_0015().SYNC.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
    if with_periods:
        for sign in ("-1", "1"):
            call = f"PERFORM report_rollups_add(sources, {sign});"
            sync = sync.replace(call, f"{call}\n    PERFORM report_periods_add(sources, {sign});", 1)
    return sync


def upgrade() -> None:
    op.create_table(
        "report_period_rollups",
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("scope_id", sa.UUID(), nullable=False),
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("creator", sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_report_period_rollups_report_id_reports"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_report_period_rollups")),
    )
    op.execute(PERIODS_ADD)
    op.execute(_sync(with_periods=True))
    columns = ", ".join((*KEY, *SUMS))
    op.execute(
        f"INSERT INTO report_period_rollups ({columns}) {SELECT_PERIODS.format(sums=_summed(), facts='report_contents')}"
    )
    op.execute("ANALYZE report_period_rollups")  # planned from its statistics from the first summary on


def downgrade() -> None:
    op.execute(_sync(with_periods=False))
    op.execute("DROP FUNCTION report_periods_add(uuid[], integer)")
    op.drop_table("report_period_rollups")
