"""influencers, profiles, campaigns (creators, story capture windows, stories) and tracking links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:15:02.269232
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_campaigns_dates")),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_campaigns_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index("ix_campaigns_workspace_listing", "campaigns", ["workspace_id", "created_at", "id"], unique=False)
    op.create_table(
        "influencers",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("tags", sa.ARRAY(sa.String(length=100)), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_influencers_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_influencers")),
    )
    op.create_index("ix_influencers_tags", "influencers", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(
        "ix_influencers_workspace_listing", "influencers", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "campaign_creators",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "stage IN ('applied', 'approved', 'active', 'completed', 'declined')",
            name=op.f("ck_campaign_creators_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_creators_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_campaign_creators_influencer_id_influencers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_campaign_creators_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_creators")),
        sa.UniqueConstraint(
            "campaign_id", "influencer_id", name=op.f("uq_campaign_creators_campaign_id_influencer_id")
        ),
    )
    op.create_index(op.f("ix_campaign_creators_influencer_id"), "campaign_creators", ["influencer_id"], unique=False)
    op.create_index(
        "ix_campaign_creators_listing", "campaign_creators", ["campaign_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "influencer_profiles",
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("handle", sa.String(length=100), nullable=False),
        sa.Column("platform_user_id", sa.String(length=100), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "platform IN ('instagram', 'facebook', 'tiktok', 'youtube', 'twitter', 'twitch')",
            name=op.f("ck_influencer_profiles_platform"),
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"],
            ["influencers.id"],
            name=op.f("fk_influencer_profiles_influencer_id_influencers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_influencer_profiles")),
        sa.UniqueConstraint(
            "influencer_id", "platform", "handle", name=op.f("uq_influencer_profiles_influencer_id_platform_handle")
        ),
    )
    op.create_index(
        "ix_influencer_profiles_platform_handle", "influencer_profiles", ["platform", "handle"], unique=False
    )
    op.create_table(
        "stories",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("influencer_id", sa.UUID(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("media_path", sa.String(length=500), nullable=False),
        sa.Column("media_content_type", sa.String(length=100), nullable=False),
        sa.Column("media_size", sa.Integer(), nullable=False),
        sa.Column(
            "metrics", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("metrics_source", sa.String(length=16), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_stories_campaign_id_campaigns"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"], ["influencers.id"], name=op.f("fk_stories_influencer_id_influencers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_stories_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index(op.f("ix_stories_influencer_id"), "stories", ["influencer_id"], unique=False)
    op.create_index("ix_stories_listing", "stories", ["campaign_id", "created_at", "id"], unique=False)
    op.create_table(
        "story_capture_windows",
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_story_capture_windows_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_capture_windows")),
    )
    op.create_index(
        op.f("ix_story_capture_windows_campaign_id"), "story_capture_windows", ["campaign_id"], unique=False
    )
    op.create_index(
        "ix_story_capture_windows_open",
        "story_capture_windows",
        ["campaign_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "tracking_links",
        sa.Column("workspace_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=True),
        sa.Column("influencer_id", sa.UUID(), nullable=True),
        sa.Column("parent_link_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("labels", sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("utm_source", sa.Text(), nullable=True),
        sa.Column("utm_medium", sa.Text(), nullable=True),
        sa.Column("utm_campaign", sa.Text(), nullable=True),
        sa.Column("utm_term", sa.Text(), nullable=True),
        sa.Column("utm_content", sa.Text(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("(kind = 'campaign') = (code IS NULL)", name=op.f("ck_tracking_links_code_by_kind")),
        sa.CheckConstraint("kind IN ('campaign', 'creator')", name=op.f("ck_tracking_links_kind")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_tracking_links_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["influencer_id"], ["influencers.id"], name=op.f("fk_tracking_links_influencer_id_influencers")
        ),
        sa.ForeignKeyConstraint(
            ["parent_link_id"], ["tracking_links.id"], name=op.f("fk_tracking_links_parent_link_id_tracking_links")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_tracking_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_links")),
        sa.UniqueConstraint("code", name=op.f("uq_tracking_links_code")),
    )
    op.create_index(op.f("ix_tracking_links_campaign_id"), "tracking_links", ["campaign_id"], unique=False)
    op.create_index(op.f("ix_tracking_links_influencer_id"), "tracking_links", ["influencer_id"], unique=False)
    op.create_index(
        "ix_tracking_links_parent_influencer",
        "tracking_links",
        ["parent_link_id", "influencer_id"],
        unique=True,
        postgresql_where=sa.text("parent_link_id IS NOT NULL"),
    )
    op.create_index(
        "ix_tracking_links_workspace_listing", "tracking_links", ["workspace_id", "created_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tracking_links_workspace_listing", table_name="tracking_links")
    op.drop_index(
        "ix_tracking_links_parent_influencer",
        table_name="tracking_links",
        postgresql_where=sa.text("parent_link_id IS NOT NULL"),
    )
    op.drop_index(op.f("ix_tracking_links_influencer_id"), table_name="tracking_links")
    op.drop_index(op.f("ix_tracking_links_campaign_id"), table_name="tracking_links")
    op.drop_table("tracking_links")
    op.drop_index(
        "ix_story_capture_windows_open",
        table_name="story_capture_windows",
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.drop_index(op.f("ix_story_capture_windows_campaign_id"), table_name="story_capture_windows")
    op.drop_table("story_capture_windows")
    op.drop_index("ix_stories_listing", table_name="stories")
    op.drop_index(op.f("ix_stories_influencer_id"), table_name="stories")
    op.drop_table("stories")
    op.drop_index("ix_influencer_profiles_platform_handle", table_name="influencer_profiles")
    op.drop_table("influencer_profiles")
    op.drop_index("ix_campaign_creators_listing", table_name="campaign_creators")
    op.drop_index(op.f("ix_campaign_creators_influencer_id"), table_name="campaign_creators")
    op.drop_table("campaign_creators")
    op.drop_index("ix_influencers_workspace_listing", table_name="influencers")
    op.drop_index("ix_influencers_tags", table_name="influencers", postgresql_using="gin")
    op.drop_table("influencers")
    op.drop_index("ix_campaigns_workspace_listing", table_name="campaigns")
    op.drop_table("campaigns")
