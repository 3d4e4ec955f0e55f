"""SQL of what one workspace reads of account data, and the metrics it sets by hand.

The data is global (keyed by connection); a workspace reaches it only through its own grant of the
connection, whatever the grant's status (a disconnected account still shows the data it had)."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, false, func, literal, literal_column, or_, select, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.models import (
    AccountAudience,
    AccountContent,
    AccountProfile,
    ContentOverride,
    ProfileSnapshot,
)
from loupe.campaigns.creators.models import CampaignCreator
from loupe.campaigns.creators.stages import PAST_APPLIED
from loupe.campaigns.stories.models import Story
from loupe.connections.models import Connection, Grant
from loupe.kit.errors import ValidationFailed
from loupe.kit.pagination import PageParams

# Contents are ordered by when they were published; one whose platform gave no date, by when Loupe first saw it.
published = func.coalesce(AccountContent.published_at, AccountContent.created_at)


def _encode(*values: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, arity: int) -> list[str]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != arity or not all(isinstance(v, str) for v in values):
            raise ValueError(cursor)
        return values
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise ValidationFailed.on("query.cursor", "Not a cursor returned by this API.") from exc


def content_cursor(row: ContentView) -> str:
    return _encode(row.sort_at.isoformat(), str(row.content.id))


def _cursor_values(cursor: str) -> tuple[datetime, uuid.UUID]:
    at, last = _decode(cursor, 2)
    try:
        return datetime.fromisoformat(at), uuid.UUID(last)
    except ValueError as exc:
        raise ValidationFailed.on("query.cursor", "Not a cursor returned by this API.") from exc


def published_keyset(stmt: Select[Any], params: PageParams) -> Select[Any]:
    """Newest published first, keyset on (published, id); one extra row tells `has_more`."""
    if params.cursor:
        at_value, last_id = _cursor_values(params.cursor)
        stmt = stmt.where(or_(published < at_value, and_(published == at_value, AccountContent.id < last_id)))
    return stmt.order_by(published.desc(), AccountContent.id.desc()).limit(params.limit + 1)


@dataclass
class ContentView:
    content: AccountContent
    grant: Grant
    override: ContentOverride | None
    sort_at: datetime


@dataclass
class ContentFilters:
    type: str | None = None
    platform: str | None = None
    influencer_id: uuid.UUID | None = None
    start: datetime | None = None  # published at or after
    end: datetime | None = None  # published before


class AccountViewRepository:
    """One workspace's reads of its connected accounts' data (through its grants) and its manual metrics."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def account(self, grant_id: uuid.UUID) -> tuple[Grant, Connection] | None:
        stmt = (
            select(Grant, Connection)
            .join(Connection, Connection.id == Grant.connection_id)
            .where(Grant.id == grant_id, Grant.workspace_id == self.workspace_id)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return (row[0], row[1]) if row else None

    async def profile(self, connection_id: uuid.UUID) -> AccountProfile | None:
        return await self.session.get(AccountProfile, connection_id)

    async def audience(self, connection_id: uuid.UUID) -> AccountAudience | None:
        return await self.session.get(AccountAudience, connection_id)

    async def history(
        self, connection_id: uuid.UUID, first: date | None, last: date | None, params: PageParams
    ) -> tuple[builtins.list[ProfileSnapshot], str | None]:
        """Daily snapshots, newest day first; the cursor is the last day shown (one snapshot per day)."""
        stmt = select(ProfileSnapshot).where(ProfileSnapshot.connection_id == connection_id)
        if first:
            stmt = stmt.where(ProfileSnapshot.taken_on >= first)
        if last:
            stmt = stmt.where(ProfileSnapshot.taken_on <= last)
        if params.cursor:
            (day,) = _decode(params.cursor, 1)
            try:
                stmt = stmt.where(ProfileSnapshot.taken_on < date.fromisoformat(day))
            except ValueError as exc:
                raise ValidationFailed.on("query.cursor", "Not a cursor returned by this API.") from exc
        stmt = stmt.order_by(ProfileSnapshot.taken_on.desc()).limit(params.limit + 1)
        rows = list((await self.session.execute(stmt)).scalars())
        items = rows[: params.limit]
        more = len(rows) > params.limit and items
        return items, _encode(items[-1].taken_on.isoformat()) if more else None

    def _contents(self) -> Any:  # Select[AccountContent, Grant, ContentOverride | None, datetime]
        return (
            select(AccountContent, Grant, ContentOverride, published.label("sort_at"))
            .join(
                Grant,
                and_(Grant.connection_id == AccountContent.connection_id, Grant.workspace_id == self.workspace_id),
            )
            .outerjoin(
                ContentOverride,
                and_(
                    ContentOverride.content_id == AccountContent.id, ContentOverride.workspace_id == self.workspace_id
                ),
            )
        )

    @staticmethod
    def _conditions(filters: ContentFilters) -> builtins.list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.type:
            conditions.append(AccountContent.type == filters.type)
        if filters.platform:
            conditions.append(AccountContent.platform == filters.platform)
        if filters.influencer_id:
            conditions.append(Grant.influencer_id == filters.influencer_id)
        if filters.start:
            conditions.append(published >= filters.start)
        if filters.end:
            conditions.append(published < filters.end)
        return conditions

    async def _page(
        self, stmt: Select[Any], filters: ContentFilters, params: PageParams
    ) -> tuple[builtins.list[ContentView], str | None]:
        conditions = self._conditions(filters)
        rows = (await self.session.execute(published_keyset(stmt.where(*conditions), params))).all()
        views = [ContentView(*row) for row in rows]
        items = views[: params.limit]
        return items, content_cursor(items[-1]) if len(views) > params.limit and items else None

    async def account_contents(
        self, grant_id: uuid.UUID, filters: ContentFilters, params: PageParams
    ) -> tuple[builtins.list[ContentView], str | None]:
        return await self._page(self._contents().where(Grant.id == grant_id), filters, params)

    def _campaign_contents(self, campaign_id: uuid.UUID) -> Any:
        """Contents of the accounts of the campaign's creators past "applied" (approved, active, completed)."""
        return self._contents().join(
            CampaignCreator,
            and_(
                CampaignCreator.campaign_id == campaign_id,
                CampaignCreator.workspace_id == self.workspace_id,
                CampaignCreator.influencer_id == Grant.influencer_id,
                CampaignCreator.stage.in_([stage.value for stage in PAST_APPLIED]),
            ),
        )

    async def campaign_feed(
        self, campaign_id: uuid.UUID, filters: ContentFilters, params: PageParams
    ) -> tuple[builtins.list[ContentView | Story], str | None]:
        """The campaign's contents and its stories captured by hand in one timeline, newest first: one
        UNION ALL of (id, source, time), keyset on (time, id), then the page's rows loaded by id."""
        api = self._campaign_contents(campaign_id).with_only_columns(
            AccountContent.id.label("id"), literal("api").label("source"), published.label("sort_at")
        )
        api = api.where(*self._conditions(filters))
        manual = select(Story.id.label("id"), literal("manual").label("source"), Story.posted_at.label("sort_at"))
        manual = manual.where(Story.workspace_id == self.workspace_id, Story.campaign_id == campaign_id)
        if filters.type not in (None, "story") or filters.platform not in (None, "instagram"):
            manual = manual.where(false())  # captured stories are Instagram stories
        if filters.influencer_id:
            manual = manual.where(Story.influencer_id == filters.influencer_id)
        if filters.start:
            manual = manual.where(Story.posted_at >= filters.start)
        if filters.end:
            manual = manual.where(Story.posted_at < filters.end)
        feed = union_all(api, manual).subquery()
        stmt = select(feed.c.id, feed.c.source, feed.c.sort_at)
        if params.cursor:
            at, last_id = _cursor_values(params.cursor)
            stmt = stmt.where(or_(feed.c.sort_at < at, and_(feed.c.sort_at == at, feed.c.id < last_id)))
        stmt = stmt.order_by(feed.c.sort_at.desc(), feed.c.id.desc()).limit(params.limit + 1)
        rows = (await self.session.execute(stmt)).all()
        page = rows[: params.limit]
        contents = {v.content.id: v for v in await self.views_of([r.id for r in page if r.source == "api"])}
        story_ids = [r.id for r in page if r.source == "manual"]
        stories = {}
        if story_ids:
            found = await self.session.scalars(select(Story).where(Story.id.in_(story_ids)))
            stories = {story.id: story for story in found}
        items: builtins.list[ContentView | Story] = [
            contents[r.id] if r.source == "api" else stories[r.id] for r in page
        ]
        last = page[-1] if page else None
        more = len(rows) > params.limit and last is not None
        return items, _encode(last.sort_at.isoformat(), str(last.id)) if more and last else None

    async def views_of(self, ids: builtins.list[uuid.UUID]) -> builtins.list[ContentView]:
        if not ids:
            return []
        rows = (await self.session.execute(self._contents().where(AccountContent.id.in_(ids)))).all()
        return [ContentView(*row) for row in rows]

    async def stories_of(self, ids: builtins.list[uuid.UUID]) -> builtins.list[Story]:
        if not ids:
            return []
        stmt = select(Story).where(Story.workspace_id == self.workspace_id, Story.id.in_(ids))
        return list(await self.session.scalars(stmt))

    async def content(self, content_id: uuid.UUID) -> ContentView | None:
        stmt = self._contents().where(AccountContent.id == content_id).execution_options(populate_existing=True)
        row = (await self.session.execute(stmt)).one_or_none()
        return ContentView(*row) if row else None

    async def set_manual_metrics(self, content_id: uuid.UUID, values: dict[str, int | None]) -> None:
        """Merge `values` into this workspace's override in one statement (two concurrent PATCHes of different
        fields both land); null clears a field, and an override left empty is removed."""
        kept = {name: value for name, value in values.items() if value is not None}
        stmt = pg_insert(ContentOverride).values(workspace_id=self.workspace_id, content_id=content_id, metrics=kept)
        merged = func.jsonb_strip_nulls(ContentOverride.metrics.op("||")(literal(values, JSONB)))
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace_id", "content_id"], set_={"metrics": merged, "updated_at": func.now()}
            )
        )
        await self.session.execute(
            delete(ContentOverride).where(
                ContentOverride.workspace_id == self.workspace_id,
                ContentOverride.content_id == content_id,
                ContentOverride.metrics == literal_column("'{}'::jsonb"),
            )
        )
