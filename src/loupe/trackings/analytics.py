"""Report analytics over what a report's trackings collected, read from `report_contents` and its roll-ups
(see the models; migrations 0015 and 0017 keep them exact): one row per content in the report (a content two
trackings collected counts once) or in one tracking, with its effective metrics (a value set by hand wins
over the API's; a story captured by hand has only hand-entered ones).

The summary reads roll-ups: per creator, network and type over all time or, over a date range, for each
month the range covers and each day at its ends (at most about a month of days however long the range);
per day for the breakdown by day. Only the top contents read contents. Every read is of a report the
service found in the caller's workspace.

Engagement rate = (likes + comments + shares + saves) / reach, over the contents that report a reach
(null when none does)."""

from __future__ import annotations

import builtins
import csv
import io
import operator
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, literal, or_, select, true, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.accounts.models import AccountContent
from loupe.campaigns.stories.models import Story
from loupe.kit.pagination import PageParams, decode_cursor, encode_cursor
from loupe.trackings.models import ReportContent, ReportCreatorRollup, ReportDayRollup, ReportPeriodRollup

METRICS = ("likes", "comments", "shares", "saves", "views", "reach")
TOP = 10
ONE_DAY = timedelta(days=1)
EVERY_NETWORK = ""  # the day roll-ups' network of a day's figures over every network
ROW_COLUMNS = ("source_id", "tracked_id", "tracking_id", "content_id", "story_id", "network", "type",
               "published_at", "matched_terms", "creator", "handle", *METRICS, "engagements")  # fmt: skip


@dataclass(frozen=True)
class ReportFilters:
    start: datetime | None = None  # a UTC day's start
    end: datetime | None = None  # a UTC day's start, excluded
    tracking_id: uuid.UUID | None = None
    network: str | None = None


def _sums(table: Any, contents: Any) -> list[Any]:
    """The figures every breakdown shares, over rows of `table` (facts or roll-ups)."""
    return [
        contents.label("contents"),
        func.count(func.distinct(table.c.creator)).label("creators"),
        func.count(func.distinct(table.c.network)).label("networks"),
        *(func.coalesce(func.sum(table.c[name]), 0).label(name) for name in METRICS),
        func.sum(table.c.engagements).label("engagements"),
        func.sum(table.c.reach).label("reach_known"),
    ]


class ReportAnalytics:
    """SQL of one workspace's report analytics."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _scoped(self, table: Any, report_id: uuid.UUID, filters: ReportFilters) -> list[Any]:
        where = [table.report_id == report_id, table.scope_id == (filters.tracking_id or report_id)]
        if filters.network:
            where.append(table.network == filters.network)
        return where

    def _facts(self, report_id: uuid.UUID, filters: ReportFilters) -> Select[Any]:
        stmt = select(ReportContent).where(*self._scoped(ReportContent, report_id, filters))
        if filters.start:
            stmt = stmt.where(ReportContent.published_at >= filters.start)
        if filters.end:
            stmt = stmt.where(ReportContent.published_at < filters.end)
        return stmt

    async def summary(self, report_id: uuid.UUID, filters: ReportFilters) -> dict[str, Any]:
        """Totals and the breakdowns by network, type and creator are added up here from the scope's figures
        per (network, type, creator), a few thousand rows at most: quicker than GROUPING SETS with distinct
        counts in the database."""
        groups = await self._groups(report_id, filters)
        columns = [groups.c[name] for name in ("network", "type", "creator", "contents", *METRICS, "engagements")]
        totals = _Tally()
        breakdowns: dict[str, dict[str, _Tally]] = {name: {} for name in ("network", "type", "creator")}
        by_network, by_type, by_creator = breakdowns.values()
        for network, kind, creator, contents, *metrics in await self.session.execute(select(*columns)):
            values = [int(contents), int(contents) if kind == "story" else 0, *(int(m or 0) for m in metrics)]
            totals.add(values, network, creator)
            for tallies, key in ((by_network, network), (by_type, kind), (by_creator, creator)):
                tally = tallies.get(key) or tallies.setdefault(key, _Tally())
                tally.add(values, network, creator)
        out: dict[str, Any] = {"totals": totals.figures(), "by_day": await self._days(report_id, filters)}
        for name, tallies in breakdowns.items():
            rows = [{"key": key, **tally.figures()} for key, tally in tallies.items()]
            out[f"by_{name}"] = sorted(rows, key=lambda r: (-r["contents"], r["key"]))
        top = self._facts(report_id, filters).limit(TOP)
        ranked = await self._rows(top, ("engagements", True), ("views", True), ("published_at", True))
        out["top_contents"] = [_public(r) for r in ranked]
        return out

    async def _groups(self, report_id: uuid.UUID, filters: ReportFilters) -> Any:
        """The scope's figures per network, type and creator: the all-time roll-up, or, over a date range
        that leaves out some of the scope's days, the period roll-ups of the months and days it covers added up."""
        scope = filters.tracking_id or report_id
        if filters.start or filters.end:
            days = select(func.min(ReportDayRollup.day), func.max(ReportDayRollup.day)).where(
                ReportDayRollup.report_id == report_id, ReportDayRollup.scope_id == scope, ReportDayRollup.contents > 0
            )
            first, last = (await self.session.execute(days)).one()
            if first is not None:
                low = max(filters.start.date(), first) if filters.start else first
                high = min(filters.end.date(), last + ONE_DAY) if filters.end else last + ONE_DAY
                if low > first or high <= last:
                    return self._periods(report_id, filters, low, high)
        rolled = select(ReportCreatorRollup).where(*self._scoped(ReportCreatorRollup, report_id, filters))
        return rolled.where(ReportCreatorRollup.contents > 0).subquery("groups")

    def _periods(self, report_id: uuid.UUID, filters: ReportFilters, low: date, high: date) -> Any:
        """The period roll-ups of the days from `low` up to `high` added up per network, type and creator (a
        key whose contents all were taken out is not in the range). One branch per span, each read by its own
        range of the primary key (an OR of the spans can be planned as a scan of every day)."""
        period = ReportPeriodRollup
        sums = [name for name in ADDED if name != "stories"]
        spans = union_all(
            *(
                select(
                    period.network,
                    period.type,
                    period.creator,
                    *((period.__table__.c[name] * sign).label(name) for name in sums),
                )
                .where(*self._scoped(period, report_id, filters))
                .where(period.grain == grain, period.period >= since, period.period < until)
                for grain, since, until, sign in periods(low, high) or [("day", low, low, 1)]  # or no day at all
            )
        ).subquery("spans")
        keys = (spans.c.network, spans.c.type, spans.c.creator)
        summed = (func.sum(spans.c[name]).label(name) for name in sums)
        return select(*keys, *summed).group_by(*keys).having(func.sum(spans.c.contents) > 0).subquery("groups")

    async def _days(self, report_id: uuid.UUID, filters: ReportFilters) -> builtins.list[dict[str, Any]]:
        """By day from the day roll-ups: the network's rows, or the every-network ones (networks: how many
        networks have a row that day)."""
        day = ReportDayRollup
        network = filters.network or EVERY_NETWORK
        picked = day.network == network

        def figure(column: Any) -> Any:
            return func.max(column).filter(picked).label(column.key)

        stmt = (
            select(
                day.day,
                *(
                    figure(day.__table__.c[name])
                    for name in ("contents", "creators", "stories", *METRICS, "engagements")
                ),
                func.max(day.reach).filter(picked).label("reach_known"),
                func.count().filter(day.network != EVERY_NETWORK).label("networks"),
            )
            .where(day.report_id == report_id, day.scope_id == (filters.tracking_id or report_id), day.contents > 0)
            .where(day.day >= filters.start.date() if filters.start else true())
            .where(day.day < filters.end.date() if filters.end else true())
            .where(or_(day.network == network, literal(network) == EVERY_NETWORK))
            .group_by(day.day)
            .having(func.count().filter(picked) > 0)
        )
        rows = (await self.session.execute(stmt.order_by(day.day))).mappings()
        return [{"key": str(row["day"]), **_figures(row)} for row in rows]

    async def _rows(self, stmt: Select[Any], *order: tuple[str, bool]) -> builtins.list[dict[str, Any]]:
        """The rows in this order ((column, descending) pairs), with their text and permalink (read from the
        sources for these rows only)."""
        rows = stmt.order_by(*(_ordered(ReportContent.__table__.c[name], desc) for name, desc in order)).subquery()
        detailed = (
            select(
                *(rows.c[name] for name in ROW_COLUMNS),
                func.coalesce(AccountContent.caption, Story.text).label("text"),
                AccountContent.permalink,
            )
            .select_from(rows)
            .outerjoin(AccountContent, AccountContent.id == rows.c.content_id)
            .outerjoin(Story, Story.id == rows.c.story_id)
            .order_by(*(_ordered(rows.c[name], desc) for name, desc in order))
        )
        return [dict(r) for r in (await self.session.execute(detailed)).mappings().all()]

    async def contents(
        self, report_id: uuid.UUID, filters: ReportFilters, params: PageParams | None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """Newest published first (keyset on published time and source id); every row without `params`."""
        stmt = self._facts(report_id, filters)
        if params is not None and params.cursor:
            at, last = decode_cursor(params.cursor)
            stmt = stmt.where(
                or_(
                    ReportContent.published_at < at,
                    and_(ReportContent.published_at == at, ReportContent.source_id < last),
                )
            )
        order = (("published_at", True), ("source_id", True))
        if params is None:
            return [_public(r) for r in await self._rows(stmt, *order)], None
        rows = await self._rows(stmt.limit(params.limit + 1), *order)
        items = rows[: params.limit]
        more = len(rows) > params.limit and items
        cursor = encode_cursor(items[-1]["published_at"], items[-1]["source_id"]) if more else None
        return [_public(r) for r in items], cursor


def periods(low: date, high: date) -> list[tuple[str, date, date, int]]:
    """The days from `low` up to `high` (excluded) as spans of period roll-ups (grain, first period, period
    after the last, 1 to add or -1 to take out): the whole months among them, and the days before and after
    those either as days or as their month less its other days, whichever reads fewer days (at most half a
    month at each end)."""
    months_from = low if low.day == 1 else _next_month(low)
    months_to = high.replace(day=1)
    if months_from > months_to:  # within one month
        return _part_of_month(low, high)
    spans = [("month", months_from, months_to, 1)] if months_from < months_to else []
    return _part_of_month(low, months_from) + spans + _part_of_month(months_to, high)


def _part_of_month(start: date, end: date) -> list[tuple[str, date, date, int]]:
    if start >= end:
        return []
    month, after = start.replace(day=1), _next_month(start)
    if (end - start).days <= (start - month).days + (after - end).days:
        return [("day", start, end, 1)]
    spans = [("month", month, after, 1), ("day", month, start, -1), ("day", end, after, -1)]
    return [span for span in spans if span[1] < span[2]]


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _ordered(column: Any, desc: bool) -> Any:
    """Views order the top contents as 0 when unknown."""
    value = func.coalesce(column, 0) if column.key == "views" else column
    return value.desc() if desc else value


def _public(row: Any) -> dict[str, Any]:
    """A content row as the API shows it (engagements: likes + comments + shares + saves)."""
    out = {k: v for k, v in row.items() if k not in ("source_id", "day", "engagements")}
    out["engagements"] = sum(out[name] or 0 for name in ("likes", "comments", "shares", "saves"))
    return out


ADDED = ("contents", "stories", *METRICS, "engagements")


class _Tally:
    """Figures added up over rows of figures per (network, type, creator); plain lists, as this runs once per
    breakdown for each of those rows."""

    def __init__(self) -> None:
        self.sums = [0] * len(ADDED)
        self.creators: set[str] = set()
        self.networks: set[str] = set()

    def add(self, values: list[int], network: str, creator: str) -> None:
        self.sums = list(map(operator.add, self.sums, values))
        self.creators.add(creator)
        self.networks.add(network)

    def figures(self) -> dict[str, Any]:
        if not self.creators:
            return _figures(None)
        row = dict(zip(ADDED, self.sums, strict=True))
        # no reach and a reach of 0 both leave the rate unknown
        return _figures(row | {"creators": len(self.creators), "networks": len(self.networks),
                               "reach_known": row["reach"]})  # fmt: skip


def _figures(row: Any) -> dict[str, Any]:
    if row is None:
        return {"contents": 0, "creators": 0, "networks": 0, "stories": 0, **dict.fromkeys(METRICS, 0),
                "engagements": 0, "engagement_rate": None}  # fmt: skip
    reach = row["reach_known"]
    return {
        **{name: int(row[name]) for name in ("contents", "creators", "networks", "stories")},
        **{name: int(row[name]) for name in METRICS},
        "engagements": int(row["engagements"] or 0),
        "engagement_rate": round(int(row["engagements"] or 0) / int(reach), 6) if reach else None,
    }


CSV_COLUMNS = ["published_at", "network", "type", "creator", "handle", "permalink", "text", "matched_terms",
               *METRICS, "source"]  # fmt: skip


def contents_csv(rows: builtins.list[dict[str, Any]]) -> str:
    """Spreadsheet-safe: a cell a spreadsheet would run as a formula is quoted."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = {
            **row,
            "matched_terms": " ".join(row["matched_terms"]),
            "source": "manual" if row["story_id"] else "api",
        }
        cells = ["" if values[c] is None else values[c] for c in CSV_COLUMNS]
        writer.writerow(
            ["'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v for v in cells]
        )
    return out.getvalue()
