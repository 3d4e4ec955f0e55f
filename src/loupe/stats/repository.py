"""Aggregates of clicks and conversions, always within one workspace and a time range, read from the
roll-ups (clicks/rollups.py), never from the raw rows.

A range [start, end) of whole UTC hours reads its whole UTC days from the `day` rows and the hours left at its
two ends from the `hour` rows (`_pieces`): a 90-day range reads about 90 rows per breakdown key, plus the hours
since the click day rows' last fold. A campaign or
the workspace reads its own scope's rows, as many as one link's; one statement per source answers every
breakdown at once (`breakdowns`). Every statement is a SQLAlchemy Core expression on the tables of the
models, every value a bound parameter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Float,
    FromClause,
    Select,
    Text,
    and_,
    any_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from loupe.campaigns.models import Campaign
from loupe.clicks.models import ClickRollup, ClickRollupFold
from loupe.conversions.models import ConversionRollup
from loupe.influencers.models import Influencer
from loupe.links.models import LinkKind, TrackingLink

CLICKS = ClickRollup.__table__
CONVERSIONS = ConversionRollup.__table__
LINKS = TrackingLink.__table__
CAMPAIGNS = Campaign.__table__
INFLUENCERS = Influencer.__table__
DAY = timedelta(days=1)

# What a row of figures is keyed by: everything at once, or one breakdown.
Dimension = Literal["total", "day", "country", "device", "referrer", "link"]
BREAKDOWNS: tuple[Dimension, ...] = ("day", "country", "device", "referrer")
# The breakdowns read from rows of their own dimension (by day sums the `total` rows).
BY_KEY = ["country", "device", "referrer"]


def _stored_dimension(dimension: Dimension) -> str:
    """The roll-up rows a breakdown sums: by day or link, the `total` rows of each hour, day or link."""
    return "total" if dimension in ("day", "link") else dimension


def _day_floor(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _pieces(
    start: datetime, end: datetime, hours_only: bool, days_until: datetime | None = None
) -> list[tuple[str, datetime, datetime]]:
    """(grain, from, to) of the roll-up rows that make up [start, end) (whole UTC hours): its whole UTC days
    before `days_until` (where the day rows end, if they do) from `day` rows, the other hours from `hour`
    rows."""
    first_day = _day_floor(start) if start == _day_floor(start) else _day_floor(start) + DAY
    last_day = _day_floor(end) if days_until is None else min(_day_floor(end), days_until)
    if hours_only or first_day >= last_day:
        return [("hour", start, end)]
    pieces = [("day", first_day, last_day)]
    if start < first_day:
        pieces.append(("hour", start, first_day))
    if last_day < end:
        pieces.append(("hour", last_day, end))
    return pieces


def _total(column: Any) -> ColumnElement[int]:
    """A sum of counts as an integer, 0 over no row."""
    return cast(func.coalesce(func.sum(column), 0), BigInteger)


@dataclass(frozen=True)
class Scope:
    """Which links of the repository's workspace: one link, a campaign's links, or all of them."""

    link_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None


class StatsRepository:
    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID, time_zone: str = "UTC") -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.time_zone = time_zone
        self.clicks_folded_until: datetime | None = None  # none folded: click day rows are not read

    async def read_folds(self) -> None:
        """Where the click day rows end, read once per answer. A value older than the latest one only makes a
        read sum more hour rows (they always hold every click), so any value read stays exact."""
        self.clicks_folded_until = await self.session.scalar(select(ClickRollupFold.folded_until))

    async def serial_plans(self) -> None:
        """No parallel workers for the rest of this transaction: every read is a few index ranges of a few
        thousand roll-up rows, yet the planner chose parallel plans for them, and on a busy machine waiting
        for the workers cost more than the scans (a campaign's 90 days: 47 ms in Gather Merge over workers
        that took 17 ms)."""
        await self.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

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

    def _scope_rows(self, table: FromClause, scope: Scope) -> ColumnElement[bool]:
        """Which roll-up rows hold the scope's sums: its links', or its campaign's or workspace's own."""
        links = self._links_of(scope)
        if scope.link_id is not None and links is not None:
            return table.c.scope_id.in_(links)
        return table.c.scope_id == (scope.campaign_id or self.workspace_id)

    def _rows(
        self,
        table: FromClause,
        which: ColumnElement[bool],
        dimensions: list[str],
        start: datetime,
        end: datetime,
        hours_only: bool = False,
    ) -> list[Select[Any]]:
        """The roll-up rows of those dimensions making up [start, end): one index range per piece and key."""
        return [
            select(table).where(
                which,
                table.c.workspace_id == self.workspace_id,
                table.c.dimension.in_(dimensions),
                table.c.grain == grain,
                table.c.bucket >= first,
                table.c.bucket < last,
            )
            for grain, first, last in _pieces(start, end, hours_only, self._days_until(table, start))
        ]  # fmt: skip

    def _days_until(self, table: FromClause, start: datetime) -> datetime | None:
        """Where the table's day rows end: click day rows at the last fold (none before any), conversion day
        rows never (they are kept as conversions land)."""
        if table is not CLICKS:
            return None
        return self.clicks_folded_until or start

    def _source(self, table: FromClause, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> Any:
        """The roll-up rows one breakdown sums (`UNION ALL` of `_rows`). By day outside UTC, hour rows only (a
        zone's day is made of UTC hours, not UTC days); by link, the `total` rows of each link."""
        which: ColumnElement[bool]
        if dimension == "link":  # an array, not `IN (subquery)`: the planner then scans the key, not the table
            links = select(LINKS.c.id).where(LINKS.c.workspace_id == self.workspace_id).scalar_subquery()
            which = table.c.scope_id == any_(func.array(links))
        else:
            which = self._scope_rows(table, scope)
        hours_only = dimension == "day" and self.time_zone != "UTC"
        parts = self._rows(table, which, [_stored_dimension(dimension)], start, end, hours_only)
        return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()

    def _breakdown_source(self, table: FromClause, scope: Scope, start: datetime, end: datetime) -> Any:
        """The rows of every breakdown at once, with the breakdown each row belongs to as `breakdown` and its
        key in it as `breakdown_key` (the `total` rows are by day: the workspace's day of their hour)."""
        which = self._scope_rows(table, scope)
        parts = [
            *self._rows(table, which, ["total"], start, end, self.time_zone != "UTC"),
            *self._rows(table, which, BY_KEY, start, end),
        ]
        rows = union_all(*parts).subquery()
        by_day = rows.c.dimension == "total"
        breakdown = case((by_day, literal("day")), else_=rows.c.dimension)
        key = case((by_day, func.to_char(func.timezone(self.time_zone, rows.c.bucket), "YYYY-MM-DD")), else_=rows.c.key)
        return rows, breakdown.label("breakdown"), key.label("key")

    def _key(self, table: FromClause, dimension: Dimension) -> ColumnElement[str]:
        if dimension == "total":
            return literal("total")
        if dimension == "day":  # the workspace's day of the hour (or UTC day)
            return func.to_char(func.timezone(self.time_zone, table.c.bucket), "YYYY-MM-DD")
        if dimension == "link":
            return cast(table.c.scope_id, Text)
        return table.c.key

    async def clicks(self, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> list[RowMapping]:
        """`key, clicks, unique_clicks, bot_clicks` per key: people and bots apart, clicks in [start, end)."""
        rows = self._source(CLICKS, scope, dimension, start, end)
        key = self._key(rows, dimension)
        query = select(
            key.label("key"), *(_total(rows.c[name]).label(name) for name in ("clicks", "unique_clicks", "bot_clicks"))
        )
        if dimension != "total":  # the total is one row (of zeros when there is no click)
            query = query.group_by(key)
        return list((await self.session.execute(query)).mappings())

    async def conversions(self, scope: Scope, dimension: Dimension, start: datetime, end: datetime) -> list[RowMapping]:
        """`key, currency, conversions, revenue` per key and currency, for conversions received in [start, end).
        A breakdown by a click's property counts only the conversions whose click was stored."""
        rows = self._source(CONVERSIONS, scope, dimension, start, end)
        key = self._key(rows, dimension)
        query = select(
            key.label("key"),
            func.nullif(rows.c.currency, "").label("currency"),
            _total(rows.c.conversions).label("conversions"),
            func.sum(rows.c.revenue).label("revenue"),
        ).group_by(*([] if dimension == "total" else [key]), rows.c.currency)
        return list((await self.session.execute(query)).mappings())

    async def breakdowns(
        self, scope: Scope, start: datetime, end: datetime
    ) -> dict[Dimension, tuple[list[RowMapping], list[RowMapping]]]:
        """Per breakdown (`BREAKDOWNS`): what `clicks` and `conversions` answer for it, from one statement
        per source. The totals are the sum of the days."""
        rows, breakdown, key = self._breakdown_source(CLICKS, scope, start, end)
        figures = [_total(rows.c[name]).label(name) for name in ("clicks", "unique_clicks", "bot_clicks")]
        clicks = (await self.session.execute(select(breakdown, key, *figures).group_by(breakdown, key))).mappings()
        rows, breakdown, key = self._breakdown_source(CONVERSIONS, scope, start, end)
        currency = func.nullif(rows.c.currency, "").label("currency")
        query = select(
            breakdown, key, currency, _total(rows.c.conversions).label("conversions"),
            func.sum(rows.c.revenue).label("revenue"),
        ).group_by(breakdown, key, rows.c.currency)  # fmt: skip
        conversions = (await self.session.execute(query)).mappings()
        out: dict[Dimension, tuple[list[RowMapping], list[RowMapping]]] = {name: ([], []) for name in BREAKDOWNS}
        for row in clicks:
            out[row["breakdown"]][0].append(row)
        for row in conversions:
            out[row["breakdown"]][1].append(row)
        return out

    def _per_link(self, table: FromClause, columns: list[str], start: datetime, end: datetime) -> Any:
        """The `total` sums of each link over [start, end), keyed by `link_id`; materialised, so the
        planner never re-runs it for every link it is joined to."""
        rows = self._source(table, Scope(), "link", start, end)
        query = select(rows.c.scope_id.label("link_id"), *(_total(rows.c[name]).label(name) for name in columns))
        return query.group_by(rows.c.scope_id).cte(f"{columns[0]}_per_link").prefix_with("MATERIALIZED")

    def _creators(self, start: datetime, end: datetime) -> Any:
        """Per influencer with creator links: `id, name, links, campaigns, clicks, unique_clicks, bot_clicks,
        conversions, conversion_rate` (conversion_rate: None without clicks), as a subquery to sort and page."""
        clicks = self._per_link(CLICKS, ["clicks", "unique_clicks", "bot_clicks"], start, end)
        conversions = self._per_link(CONVERSIONS, ["conversions"], start, end)
        per = (
            select(
                LINKS.c.influencer_id,
                func.count(LINKS.c.id).label("links"),
                func.count(func.distinct(LINKS.c.campaign_id)).label("campaigns"),
                *(_total(clicks.c[name]).label(name) for name in ("clicks", "unique_clicks", "bot_clicks")),
                _total(conversions.c.conversions).label("conversions"),
            )
            .select_from(
                LINKS.outerjoin(clicks, clicks.c.link_id == LINKS.c.id).outerjoin(
                    conversions, conversions.c.link_id == LINKS.c.id
                )
            )
            .where(
                LINKS.c.workspace_id == self.workspace_id,
                LINKS.c.kind == LinkKind.creator,
                LINKS.c.influencer_id.is_not(None),
            )
            .group_by(LINKS.c.influencer_id)
            .subquery()
        )
        rate = cast(per.c.conversions, Float) / cast(func.nullif(per.c.clicks, 0), Float)
        return (
            select(INFLUENCERS.c.id, INFLUENCERS.c.name, *[c for c in per.c if c.name != "influencer_id"],
                   rate.label("conversion_rate"))
            .join_from(INFLUENCERS, per, per.c.influencer_id == INFLUENCERS.c.id)
            .where(INFLUENCERS.c.workspace_id == self.workspace_id)
            .subquery()
        )  # fmt: skip

    async def creators(
        self,
        start: datetime,
        end: datetime,
        sort: str,
        descending: bool,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> list[RowMapping]:
        """A page of `_creators` ordered by `sort` (a rate without clicks sorts as -1), then id, after `after`
        (the previous page's last sort value and id)."""
        rows = self._creators(start, end)
        value = func.coalesce(rows.c.conversion_rate, -1.0) if sort == "conversion_rate" else rows.c[sort]
        query = select(rows, value.label("sort_value"))
        if after is not None:
            beyond = value < after[0] if descending else value > after[0]
            query = query.where(or_(beyond, and_(value == after[0], rows.c.id > after[1])))
        query = query.order_by(value.desc() if descending else value.asc(), rows.c.id).limit(limit)
        return list((await self.session.execute(query)).mappings())

    async def creator_revenue(
        self, influencer_ids: list[uuid.UUID], start: datetime, end: datetime
    ) -> list[RowMapping]:
        """`influencer_id, currency, revenue` of those influencers' creator links over [start, end)."""
        rows = self._source(CONVERSIONS, Scope(), "link", start, end)
        query = (
            select(LINKS.c.influencer_id, rows.c.currency, func.sum(rows.c.revenue).label("revenue"))
            .join_from(rows, LINKS, LINKS.c.id == rows.c.scope_id)
            .where(
                LINKS.c.workspace_id == self.workspace_id,
                LINKS.c.kind == LinkKind.creator,
                LINKS.c.influencer_id.in_(influencer_ids),
                rows.c.currency != "",
                rows.c.revenue.is_not(None),
            )
            .group_by(LINKS.c.influencer_id, rows.c.currency)
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
