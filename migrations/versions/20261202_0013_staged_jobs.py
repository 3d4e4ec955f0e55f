"""staged jobs: jobs committed with the change that needs them, until arq has them

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staged_jobs",
        sa.Column("function", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Text(), nullable=True),
        sa.Column("kwargs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("defer_by", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_jobs")),
    )
    op.create_index(op.f("ix_staged_jobs_created_at"), "staged_jobs", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_staged_jobs_created_at"), table_name="staged_jobs")
    op.drop_table("staged_jobs")
