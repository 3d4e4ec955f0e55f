"""media trash: deleting a story (directly or by cascade) queues its media file for removal

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Generic: any table with a `media_path` column can use it (API stories and content media will).
TRASH_FUNCTION = """
CREATE OR REPLACE FUNCTION loupe_trash_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_trash (path) VALUES (OLD.media_path) ON CONFLICT DO NOTHING;
    RETURN OLD;
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "media_trash",
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_media_trash")),
    )
    op.execute(TRASH_FUNCTION)
    op.execute(
        "CREATE TRIGGER stories_trash_media AFTER DELETE ON stories FOR EACH ROW EXECUTE FUNCTION loupe_trash_media()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS stories_trash_media ON stories")
    op.execute("DROP FUNCTION IF EXISTS loupe_trash_media()")
    op.drop_table("media_trash")
