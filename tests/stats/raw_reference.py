"""The stats' figures by a scan of the raw clicks and conversions: what every answer was before the
roll-ups, kept as the reference the roll-up answers must equal (same rows, same keys)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, literal, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.elements import ColumnElement

from loupe.clicks.models import Click
from loupe.conversions.models import Conversion
from loupe.stats.repository import BREAKDOWNS, Dimension, Scope, StatsRepository

CLICKS = Click.__table__
CONVERSIONS = Conversion.__table__
FROM_CLICK = frozenset({"country", "device", "referrer"})


class RawStatsRepository(StatsRepository):
    def _in_scope(self, link_id: ColumnElement[uuid.UUID], scope: Scope) -> list[ColumnElement[bool]]:
        links = self._links_of(scope)
        return [] if links is None else [link_id.in_(links)]

    def _day(self, moment: ColumnElement[Any]) -> ColumnElement[str]:
        return func.to_char(func.timezone(self.time_zone, moment), "YYYY-MM-DD")

    def _click_key(self, dimension: Dimension) -> ColumnElement[str]:
        match dimension:
            case "total":
                return literal("total")
            case "day":
                return self._day(CLICKS.c.clicked_at)
            case "country":
                return func.coalesce(CLICKS.c.country, "unknown")
            case "device":
                return CLICKS.c.device
            case "referrer":
                return func.coalesce(CLICKS.c.referrer_host, "direct")
            case "link":
                return cast(CLICKS.c.link_id, Text)

    def _conversion_key(self, dimension: Dimension) -> ColumnElement[str]:
        if dimension == "day":
            return self._day(CONVERSIONS.c.created_at)
        if dimension == "link":
            return cast(CONVERSIONS.c.link_id, Text)
        return self._click_key(dimension)

    async def clicks(self, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> list[RowMapping]:
        key = self._click_key(dimension)
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
        if dimension != "total":
            query = query.group_by(key)
        return list((await self.session.execute(query)).mappings())

    async def conversions(self, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> list[RowMapping]:
        key = self._conversion_key(dimension)
        source = CONVERSIONS
        if dimension in FROM_CLICK:
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

    async def breakdowns(
        self, scope: Scope, start: datetime, end: datetime
    ) -> dict[Dimension, tuple[list[RowMapping], list[RowMapping]]]:
        return {
            name: (await self.clicks(scope, name, start, end), await self.conversions(scope, name, start, end))
            for name in BREAKDOWNS
        }
