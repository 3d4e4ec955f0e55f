"""Aggregates of clicks and conversions, always within one workspace and a time range.

Every statement is a SQLAlchemy Core expression on the tables of the models, every value a bound parameter.
Clicks are filtered on `clicked_at` with the half-open range, so PostgreSQL prunes the monthly partitions and
can use `ix_clicks_workspace_time` or `ix_clicks_link_time`; conversions use their `*_time` indexes the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, Text, and_, cast, exists, func, literal, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from loupe.campaigns.models import Campaign
from loupe.clicks.models import Click
from loupe.conversions.models import Conversion
from loupe.links.models import LinkKind, TrackingLink

CLICKS = Click.__table__
CONVERSIONS = Conversion.__table__
LINKS = TrackingLink.__table__
CAMPAIGNS = Campaign.__table__

# What a row of figures is keyed by: everything at once, or one breakdown.
Dimension = Literal["total", "day", "country", "device", "referrer", "link"]
# Breakdowns a conversion takes from its click (joined); its day and link are its own.
FROM_CLICK: frozenset[Dimension] = frozenset({"country", "device", "referrer"})


def _utc_day(moment: ColumnElement[Any]) -> ColumnElement[str]:
    """The UTC day of a timestamptz as YYYY-MM-DD (`to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD')`)."""
    return func.to_char(func.timezone("UTC", moment), "YYYY-MM-DD")


def _click_key(dimension: Dimension) -> ColumnElement[str]:
    match dimension:
        case "total":
            return literal("total")
        case "day":
            return _utc_day(CLICKS.c.clicked_at)
        case "country":
            return func.coalesce(CLICKS.c.country, "unknown")
        case "device":
            return CLICKS.c.device
        case "referrer":
            return func.coalesce(CLICKS.c.referrer_host, "direct")
        case "link":
            return cast(CLICKS.c.link_id, Text)


def _conversion_key(dimension: Dimension) -> ColumnElement[str]:
    if dimension == "day":  # the day the conversion was received, not the day of its click
        return _utc_day(CONVERSIONS.c.created_at)
    if dimension == "link":
        return cast(CONVERSIONS.c.link_id, Text)
    return _click_key(dimension)


@dataclass(frozen=True)
class Scope:
    """Which links of the repository's workspace: one link, a campaign's links, or all of them."""

    link_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None


class StatsRepository:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    async def link_exists(self, link_id: uuid.UUID) -> bool:
        query = select(exists().where(LINKS.c.id == link_id, LINKS.c.workspace_id == self.workspace_id))
        return bool(await self.session.scalar(query))

    async def campaign_exists(self, campaign_id: uuid.UUID) -> bool:
        query = select(exists().where(CAMPAIGNS.c.id == campaign_id, CAMPAIGNS.c.workspace_id == self.workspace_id))
        return bool(await self.session.scalar(query))

    def _links_of(self, scope: Scope) -> Select[tuple[uuid.UUID]] | None:
        """The ids of the scope's links (None: every link of the workspace)."""
        if scope.link_id is not None:
            # A campaign-level link has no code of its own: its figures are its creators' copies'.
            which = or_(LINKS.c.id == scope.link_id, LINKS.c.parent_link_id == scope.link_id)
        elif scope.campaign_id is not None:
            which = LINKS.c.campaign_id == scope.campaign_id
        else:
            return None
        return select(LINKS.c.id).where(which, LINKS.c.workspace_id == self.workspace_id)

    def _in_scope(self, link_id: ColumnElement[uuid.UUID], scope: Scope) -> list[ColumnElement[bool]]:
        links = self._links_of(scope)
        return [] if links is None else [link_id.in_(links)]

    async def clicks(self, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> list[RowMapping]:
        """`key, clicks, unique_clicks, bot_clicks` per key: people and bots apart, clicks in [start, end)."""
        key = _click_key(dimension)
        people = ~CLICKS.c.bot
        query = select(
            key.label("key"),
            func.count().filter(people).label("clicks"),
            func.count().filter(and_(people, CLICKS.c.unique_visitor)).label("unique_clicks"),
            func.count().filter(CLICKS.c.bot).label("bot_clicks"),
        ).where(
            CLICKS.c.workspace_id == self.workspace_id,
            CLICKS.c.clicked_at >= start,
            CLICKS.c.clicked_at < end,
            *self._in_scope(CLICKS.c.link_id, scope),
        )
        if dimension != "total":  # the total is one row (of zeros when there is no click)
            query = query.group_by(key)
        return list((await self.session.execute(query)).mappings())

    async def conversions(self, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> list[RowMapping]:
        """`key, currency, conversions, revenue` per key and currency, for conversions received in [start, end).
        A breakdown by a click's property counts only the conversions whose click is still stored."""
        key = _conversion_key(dimension)
        source = CONVERSIONS
        if dimension in FROM_CLICK:  # by the click's key (id, clicked_at): not pruned by the range
            source = CONVERSIONS.join(
                CLICKS,
                and_(CLICKS.c.id == CONVERSIONS.c.click_id, CLICKS.c.clicked_at == CONVERSIONS.c.clicked_at),
            )
        query = (
            select(
                key.label("key"),
                CONVERSIONS.c.currency,
                func.count().label("conversions"),
                func.sum(CONVERSIONS.c.value).label("revenue"),
            )
            .select_from(source)
            .where(
                CONVERSIONS.c.workspace_id == self.workspace_id,
                CONVERSIONS.c.created_at >= start,
                CONVERSIONS.c.created_at < end,
                *self._in_scope(CONVERSIONS.c.link_id, scope),
            )
            .group_by(*([] if dimension == "total" else [key]), CONVERSIONS.c.currency)
        )
        return list((await self.session.execute(query)).mappings())

    async def links(self) -> list[RowMapping]:
        """The workspace's creator links (campaign-level links have no clicks of their own)."""
        query = select(
            LINKS.c.id,
            LINKS.c.name,
            LINKS.c.code,
            LINKS.c.campaign_id,
            LINKS.c.influencer_id,
            LINKS.c.archived_at.is_not(None).label("archived"),
        ).where(LINKS.c.workspace_id == self.workspace_id, LINKS.c.kind == LinkKind.creator)
        return list((await self.session.execute(query)).mappings())
