"""influencer lists, trackings, tracked profiles, opt-in invites and tracked contents

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "influencer_lists",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_influencer_lists_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_influencer_lists")),
    )
    op.create_index(
        "ix_influencer_lists_workspace_listing", "influencer_lists", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_influencer_lists_workspace_name",
        "influencer_lists",
        ["workspace_id", sa.literal_column("lower(name)")],
        unique=True,
    )
    op.create_table(
        "influencer_list_members",
        sa.Column("list_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_influencer_list_members_influencer_id_influencers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["influencer_lists.id"],
            name=op.f("fk_influencer_list_members_list_id_influencer_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "influencer_id", name=op.f("pk_influencer_list_members")),
    )
    op.create_index(
        op.f("ix_influencer_list_members_influencer_id"), "influencer_list_members", ["influencer_id"], unique=False
    )
    op.create_table(
        "trackings",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("hashtags", postgresql.ARRAY(sa.String(length=100)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("mentions", postgresql.ARRAY(sa.String(length=100)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("keywords", postgresql.ARRAY(sa.String(length=300)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "network IN ('instagram', 'facebook', 'tiktok', 'youtube', 'twitter', 'twitch')",
            name=op.f("ck_trackings_network"),
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name=op.f("ck_trackings_span")),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_trackings_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_trackings_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trackings")),
    )
    op.create_index("ix_trackings_report_listing", "trackings", ["report_id", "created_at", "id"], unique=False)
    op.create_index(
        "ix_trackings_workspace_name", "trackings", ["workspace_id", sa.literal_column("lower(name)")], unique=True
    )
    op.create_table(
        "tracking_invites",
        sa.Column("tracking_id", sa.UUID(), nullable=False),
        sa.Column("invite_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invite_id"], ["invites.id"], name=op.f("fk_tracking_invites_invite_id_invites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tracking_id"],
            ["trackings.id"],
            name=op.f("fk_tracking_invites_tracking_id_trackings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tracking_id", "invite_id", name=op.f("pk_tracking_invites")),
    )
    op.create_index(op.f("ix_tracking_invites_invite_id"), "tracking_invites", ["invite_id"], unique=False)
    op.create_table(
        "tracking_profiles",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("tracking_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=False),
        sa.Column("platform_user_id", sa.String(length=100), nullable=True),
        sa.Column("influencer_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_tracking_profiles_influencer_id_influencers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tracking_id"],
            ["trackings.id"],
            name=op.f("fk_tracking_profiles_tracking_id_trackings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_tracking_profiles_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_profiles")),
        sa.UniqueConstraint("tracking_id", "handle", name=op.f("uq_tracking_profiles_tracking_id_handle")),
    )
    op.create_index(op.f("ix_tracking_profiles_influencer_id"), "tracking_profiles", ["influencer_id"], unique=False)
    op.create_index(
        "ix_tracking_profiles_listing", "tracking_profiles", ["tracking_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_tracking_profiles_platform_handle",
        "tracking_profiles",
        ["platform", sa.literal_column("lower(handle)")],
        unique=False,
    )
    op.create_index(
        "ix_tracking_profiles_platform_user", "tracking_profiles", ["platform", "platform_user_id"], unique=False
    )
    op.create_table(
        "tracked_contents",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("report_id", sa.UUID(), nullable=False),
        sa.Column("tracking_id", sa.UUID(), nullable=False),
        sa.Column("profile_id", sa.UUID(), nullable=True),
        sa.Column("content_id", sa.UUID(), nullable=True),
        sa.Column("story_id", sa.UUID(), nullable=True),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_terms", postgresql.ARRAY(sa.String(length=300)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.CheckConstraint("(content_id IS NULL) <> (story_id IS NULL)", name=op.f("ck_tracked_contents_one_source")),
        sa.ForeignKeyConstraint(
            ["content_id"],
            ["account_contents.id"],
            name=op.f("fk_tracked_contents_content_id_account_contents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["tracking_profiles.id"],
            name=op.f("fk_tracked_contents_profile_id_tracking_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_tracked_contents_report_id_reports"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_tracked_contents_story_id_stories"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tracking_id"],
            ["trackings.id"],
            name=op.f("fk_tracked_contents_tracking_id_trackings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_tracked_contents_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_contents")),
        sa.UniqueConstraint("tracking_id", "content_id", name=op.f("uq_tracked_contents_tracking_id_content_id")),
        sa.UniqueConstraint("tracking_id", "story_id", name=op.f("uq_tracked_contents_tracking_id_story_id")),
    )
    op.create_index(op.f("ix_tracked_contents_content_id"), "tracked_contents", ["content_id"], unique=False)
    op.create_index("ix_tracked_contents_report", "tracked_contents", ["report_id", "published_at"], unique=False)
    op.create_index(op.f("ix_tracked_contents_story_id"), "tracked_contents", ["story_id"], unique=False)
    op.create_index(
        "ix_tracked_contents_timeline", "tracked_contents", ["tracking_id", "published_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tracked_contents_timeline", table_name="tracked_contents")
    op.drop_index(op.f("ix_tracked_contents_story_id"), table_name="tracked_contents")
    op.drop_index("ix_tracked_contents_report", table_name="tracked_contents")
    op.drop_index(op.f("ix_tracked_contents_content_id"), table_name="tracked_contents")
    op.drop_table("tracked_contents")
    op.drop_index("ix_tracking_profiles_platform_user", table_name="tracking_profiles")
    op.drop_index("ix_tracking_profiles_platform_handle", table_name="tracking_profiles")
    op.drop_index("ix_tracking_profiles_listing", table_name="tracking_profiles")
    op.drop_index(op.f("ix_tracking_profiles_influencer_id"), table_name="tracking_profiles")
    op.drop_table("tracking_profiles")
    op.drop_index(op.f("ix_tracking_invites_invite_id"), table_name="tracking_invites")
    op.drop_table("tracking_invites")
    op.drop_index("ix_trackings_workspace_name", table_name="trackings")
    op.drop_index("ix_trackings_report_listing", table_name="trackings")
    op.drop_table("trackings")
    op.drop_index(op.f("ix_influencer_list_members_influencer_id"), table_name="influencer_list_members")
    op.drop_table("influencer_list_members")
    op.drop_index("ix_influencer_lists_workspace_name", table_name="influencer_lists")
    op.drop_index("ix_influencer_lists_workspace_listing", table_name="influencer_lists")
    op.drop_table("influencer_lists")
