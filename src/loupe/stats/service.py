"""Stats rules: date range, people vs bots, conversion rate, merging clicks with conversions."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.days import check_days
from loupe.kit.errors import NotFound, ValidationFailed
from loupe.kit.pagination import PageParams
from loupe.stats.repository import BREAKDOWNS, Scope, StatsRepository
from loupe.stats.schemas import (
    CampaignStats,
    Counts,
    CreatorSort,
    CreatorStats,
    CreatorStatsRow,
    LinkStats,
    LinkStatsRow,
    Revenue,
    Stats,
    StatsRow,
    WorkspaceLinkStats,
)
from loupe.workspaces.auth import Principal
from loupe.workspaces.service import WorkspaceService

DEFAULT_DAYS = 30
MAX_DAYS = 366


def resolve_range(
    start: date | None, end: date | None, today: date | None = None, zone: tzinfo = UTC
) -> tuple[date, date]:
    """Inclusive days of the zone; defaults to the last 30 days ending today."""
    check_days(start, end)
    end = end or today or datetime.now(zone).date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    check_days(start, end)
    if (end - start).days >= MAX_DAYS:
        raise ValidationFailed.on("query.from", f"The range spans at most {MAX_DAYS} days.")
    return start, end


def _bounds(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The half-open interval [first 00:00, the day after last 00:00) of inclusive days of the zone, in UTC."""
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)


class _Tally:
    """The figures of one row (a day, a country, a link…) while clicks and conversions are added up."""

    def __init__(self) -> None:
        self.clicks = self.unique = self.bots = self.conversions = 0
        self.revenue: dict[str, Decimal] = defaultdict(Decimal)

    @classmethod
    def sum(cls, tallies: Iterable[_Tally]) -> _Tally:
        total = cls()
        for tally in tallies:
            total.clicks += tally.clicks
            total.unique += tally.unique
            total.bots += tally.bots
            total.conversions += tally.conversions
            for currency, amount in tally.revenue.items():
                total.revenue[currency] += amount
        return total

    def counts(self) -> dict[str, Any]:
        return {
            "clicks": self.clicks,
            "unique_clicks": self.unique,
            "bot_clicks": self.bots,
            "conversions": self.conversions,
            "revenue": [Revenue(currency=c, amount=a) for c, a in sorted(self.revenue.items())],
            "conversion_rate": round(self.conversions / self.clicks, 4) if self.clicks else None,
        }


def _merge(clicks: list[Any], conversions: list[Any], keys: list[str] | None = None) -> dict[str, _Tally]:
    rows: dict[str, _Tally] = {key: _Tally() for key in keys or []}
    for row in clicks:
        acc = rows.setdefault(row["key"], _Tally())
        acc.clicks, acc.unique, acc.bots = row["clicks"], row["unique_clicks"], row["bot_clicks"]
    for row in conversions:
        acc = rows.setdefault(row["key"], _Tally())
        acc.conversions += row["conversions"]
        if row["currency"] is not None and row["revenue"] is not None:
            acc.revenue[row["currency"]] += row["revenue"]
    return rows


def _ranked(rows: dict[str, _Tally]) -> list[StatsRow]:
    ordered = sorted(rows.items(), key=lambda kv: (-kv[1].clicks, -kv[1].bots, -kv[1].conversions, kv[0]))
    return [StatsRow(key=key, **acc.counts()) for key, acc in ordered]


CSV_PAGE = 500  # creators fetched per query while a CSV export streams


def _encode_cursor(sort: CreatorSort, order: str, value: Any, id_: uuid.UUID) -> str:
    raw = json.dumps([sort.value, order, value, str(id_)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: CreatorSort, order: str) -> tuple[Any, uuid.UUID]:
    try:
        kind, direction, value, id_ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        last = uuid.UUID(id_)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValidationFailed.on("query.cursor", "Not a cursor returned by this API.") from exc
    if (kind, direction) != (sort.value, order):
        raise ValidationFailed.on("query.cursor", "This cursor belongs to another `sort` or `order`.")
    expected = str if sort is CreatorSort.name else (float if sort is CreatorSort.conversion_rate else int)
    if not isinstance(value, expected) or isinstance(value, bool):
        raise ValidationFailed.on("query.cursor", "Not a cursor returned by this API.")
    return value, last


class StatsService:
    def __init__(
        self, session: AsyncSession, principal: Principal, source: type[StatsRepository] = StatsRepository
    ) -> None:
        self.session = session
        self.workspace_id = principal.workspace_id
        self.source = source  # the tests' raw-scan reference is another source

    async def _open(self) -> tuple[StatsRepository, ZoneInfo]:
        """The repository, in the workspace's time zone."""
        time_zone = (await WorkspaceService(self.session).get_workspace(self.workspace_id)).time_zone
        repo = self.source(self.session, self.workspace_id, time_zone)
        await repo.serial_plans()
        await repo.read_folds()
        return repo, ZoneInfo(time_zone)

    async def _stats(self, scope: Scope, first: date | None, last: date | None) -> dict[str, Any]:
        repo, zone = await self._open()
        first, last = resolve_range(first, last, zone=zone)
        start, end = _bounds(first, last, zone)
        found = await repo.breakdowns(scope, start, end)
        days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
        result: dict[str, Any] = {"from": first, "to": last}
        for dimension in BREAKDOWNS:
            clicks, conversions = found[dimension]
            merged = _merge(clicks, conversions, days if dimension == "day" else None)
            if dimension == "day":  # every click and conversion of the range falls on one of its days
                result["totals"] = Counts(**_Tally.sum(merged.values()).counts())
            ranked = _ranked(merged)
            result[f"by_{dimension}"] = sorted(ranked, key=lambda r: r.key) if dimension == "day" else ranked
        return result

    async def link(self, link_id: uuid.UUID, first: date | None, last: date | None) -> LinkStats:
        repo = self.source(self.session, self.workspace_id)
        if not await repo.link_exists(link_id):
            raise NotFound(f"Link {link_id} was not found.")
        return LinkStats(link_id=link_id, **await self._stats(Scope(link_id=link_id), first, last))

    async def campaign(self, campaign_id: uuid.UUID, first: date | None, last: date | None) -> CampaignStats:
        repo = self.source(self.session, self.workspace_id)
        if not await repo.campaign_exists(campaign_id):
            raise NotFound(f"Campaign {campaign_id} was not found.")
        return CampaignStats(campaign_id=campaign_id, **await self._stats(Scope(campaign_id=campaign_id), first, last))

    async def workspace(self, first: date | None, last: date | None) -> Stats:
        """Every link of the workspace together."""
        return Stats.model_validate(await self._stats(Scope(), first, last))

    async def links(self, first: date | None, last: date | None) -> WorkspaceLinkStats:
        repo, zone = await self._open()
        first, last = resolve_range(first, last, zone=zone)
        start, end = _bounds(first, last, zone)
        scope = Scope()
        merged = _merge(await repo.clicks(scope, "link", start, end), await repo.conversions(scope, "link", start, end))
        rows = [
            LinkStatsRow(
                link_id=link["id"],
                name=link["name"],
                code=link["code"],
                campaign_id=link["campaign_id"],
                influencer_id=link["influencer_id"],
                archived=link["archived"],
                **merged.get(str(link["id"]), _Tally()).counts(),
            )
            for link in await repo.links()
        ]
        rows.sort(key=lambda r: (-r.clicks, -r.bot_clicks, -r.conversions, r.name, str(r.link_id)))
        return WorkspaceLinkStats.model_validate({"from": first, "to": last, "data": rows})

    async def creators(
        self, first: date | None, last: date | None, sort: CreatorSort, order: str, params: PageParams
    ) -> CreatorStats:
        repo, zone = await self._open()
        first, last = resolve_range(first, last, zone=zone)
        after = _decode_cursor(params.cursor, sort, order) if params.cursor else None
        rows = await self._creator_rows(repo, zone, first, last, sort, order, after, params.limit + 1)
        more = len(rows) > params.limit
        page = rows[: params.limit]
        cursor = _encode_cursor(sort, order, page[-1][1], page[-1][0].influencer_id) if more else None
        data = [row for row, _ in page]
        return CreatorStats.model_validate(
            {"from": first, "to": last, "data": data, "next_cursor": cursor, "has_more": more}
        )

    async def all_creators(
        self, first: date | None, last: date | None, sort: CreatorSort, order: str
    ) -> AsyncIterator[CreatorStatsRow]:
        """Every creator in order, fetched a page at a time (the CSV export streams them)."""
        repo, zone = await self._open()
        first, last = resolve_range(first, last, zone=zone)
        after: tuple[Any, uuid.UUID] | None = None
        while True:
            rows = await self._creator_rows(repo, zone, first, last, sort, order, after, CSV_PAGE)
            for row, _ in rows:
                yield row
            if len(rows) < CSV_PAGE:
                return
            after = (rows[-1][1], rows[-1][0].influencer_id)

    async def _creator_rows(
        self,
        repo: StatsRepository,
        zone: ZoneInfo,
        first: date,
        last: date,
        sort: CreatorSort,
        order: str,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[CreatorStatsRow, Any]]:
        """(row, its sort value) of one page; revenue per currency fetched for that page only."""
        start, end = _bounds(first, last, zone)
        found = await repo.creators(start, end, sort.value, order == "desc", after, limit)
        revenue: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(dict)
        for row in await repo.creator_revenue([r["id"] for r in found], start, end) if found else []:
            revenue[row["influencer_id"]][row["currency"]] = row["revenue"]
        out = []
        for row in found:
            tally = _Tally()
            tally.clicks, tally.unique, tally.bots = row["clicks"], row["unique_clicks"], row["bot_clicks"]
            tally.conversions = row["conversions"]
            tally.revenue.update(revenue[row["id"]])
            counts = tally.counts()
            item = CreatorStatsRow(
                influencer_id=row["id"], name=row["name"], links=row["links"], campaigns=row["campaigns"], **counts
            )
            out.append((item, row["sort_value"]))
        return out
