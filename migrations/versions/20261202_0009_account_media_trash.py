"""account contents' stored media (API stories) go to media_trash when their rows are deleted

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A content's `media` is a JSON list; the files we copied carry their key under "path".
TRASH_FUNCTION = """
CREATE OR REPLACE FUNCTION loupe_trash_content_media() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO media_trash (path)
    SELECT item ->> 'path' FROM jsonb_array_elements(OLD.media) AS item WHERE item ? 'path'
    ON CONFLICT DO NOTHING;
    RETURN OLD;
END;
$$
"""


def upgrade() -> None:
    op.execute(TRASH_FUNCTION)
    op.execute(
        "CREATE TRIGGER account_contents_trash_media AFTER DELETE ON account_contents "
        "FOR EACH ROW EXECUTE FUNCTION loupe_trash_content_media()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS account_contents_trash_media ON account_contents")
    op.execute("DROP FUNCTION IF EXISTS loupe_trash_content_media()")
