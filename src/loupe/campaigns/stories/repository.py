from __future__ import annotations

import uuid

from sqlalchemy import func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.campaigns.stories.models import Story
from loupe.kit.pagination import PageParams, build_page, keyset


class StoryRepository:
    """Stories of one workspace; no query here can reach another workspace's rows."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def add(self, story: Story) -> Story:
        story.workspace_id = self.workspace_id
        self.session.add(story)
        await self.session.flush()
        return story

    async def get(self, campaign_id: uuid.UUID, story_id: uuid.UUID) -> Story | None:
        stmt = select(Story).where(
            Story.workspace_id == self.workspace_id, Story.campaign_id == campaign_id, Story.id == story_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def set_metrics(self, story_id: uuid.UUID, values: dict[str, int | None]) -> Story | None:
        """Merge `values` into the story's metrics in one statement (null clears one); None when the story is
        not this workspace's."""
        merged = func.jsonb_strip_nulls(Story.metrics.op("||")(literal(values, JSONB)))
        stmt = (
            update(Story)
            .where(Story.workspace_id == self.workspace_id, Story.id == story_id)
            .values(metrics=merged)
            .returning(Story)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(
        self, campaign_id: uuid.UUID, params: PageParams, influencer_id: uuid.UUID | None
    ) -> tuple[list[Story], str | None]:
        stmt = select(Story).where(Story.workspace_id == self.workspace_id, Story.campaign_id == campaign_id)
        if influencer_id is not None:
            stmt = stmt.where(Story.influencer_id == influencer_id)
        rows = list(await self.session.scalars(keyset(stmt, params, Story.created_at, Story.id)))
        return build_page(rows, params)
