"""The report analytics as they were computed before the roll-ups (migration 0015): straight from
tracked_contents and the contents' JSONB metrics, each content once by DISTINCT ON, totals and breakdowns in
one GROUPING SETS pass. Kept, unchanged, as the reference the roll-ups must always equal.

Engagement rate = (likes + comments + shares + saves) / reach, over the contents that report a reach
(null when none does)."""

from __future__ import annotations

import builtins
import uuid
from typing import Any

from sqlalchemy import BigInteger, Numeric, and_, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Subquery

from loupe.accounts.models import AccountContent, ContentOverride
from loupe.campaigns.stories.models import Story
from loupe.influencers.models import Influencer
from loupe.kit.pagination import PageParams, decode_cursor, encode_cursor
from loupe.trackings.analytics import ReportFilters
from loupe.trackings.models import TrackedContent, TrackingProfile

METRICS = ("likes", "comments", "shares", "saves", "views", "reach")
TOP = 10


def _metric(name: str) -> Any:
    """The effective value: set by hand (this workspace's override, or a manual story's), else the API's."""
    picked = func.coalesce(
        ContentOverride.metrics[name].astext, AccountContent.metrics[name].astext, Story.metrics[name].astext
    )
    return picked.cast(Numeric).cast(BigInteger)


class ReferenceAnalytics:
    """SQL of one workspace's report analytics."""

    def __init__(self, session: AsyncSession, workspace_id: uuid.UUID) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def _base(self, report_id: uuid.UUID, filters: ReportFilters) -> Subquery:
        source = func.coalesce(TrackedContent.content_id, TrackedContent.story_id)
        creator = func.coalesce(Influencer.name, TrackingProfile.handle, literal("unknown"))
        stmt = (
            select(
                source.label("source_id"),
                TrackedContent.id.label("tracked_id"),
                TrackedContent.tracking_id,
                TrackedContent.content_id,
                TrackedContent.story_id,
                TrackedContent.network,
                TrackedContent.type,
                TrackedContent.published_at,
                TrackedContent.matched_terms,
                func.date(func.timezone("UTC", TrackedContent.published_at)).label("day"),
                creator.label("creator"),
                TrackingProfile.handle,
                func.coalesce(AccountContent.caption, Story.text).label("text"),
                AccountContent.permalink,
                *(_metric(name).label(name) for name in METRICS),
            )
            .outerjoin(AccountContent, AccountContent.id == TrackedContent.content_id)
            .outerjoin(
                ContentOverride,
                and_(
                    ContentOverride.content_id == TrackedContent.content_id,
                    ContentOverride.workspace_id == self.workspace_id,
                ),
            )
            .outerjoin(Story, Story.id == TrackedContent.story_id)
            .outerjoin(TrackingProfile, TrackingProfile.id == TrackedContent.profile_id)
            .outerjoin(Influencer, Influencer.id == TrackingProfile.influencer_id)
            .where(TrackedContent.workspace_id == self.workspace_id, TrackedContent.report_id == report_id)
            .order_by(source, TrackedContent.published_at.desc(), TrackedContent.id)
            .ext(distinct_on(source))
        )
        if filters.start:
            stmt = stmt.where(TrackedContent.published_at >= filters.start)
        if filters.end:
            stmt = stmt.where(TrackedContent.published_at < filters.end)
        if filters.tracking_id:
            stmt = stmt.where(TrackedContent.tracking_id == filters.tracking_id)
        if filters.network:
            stmt = stmt.where(TrackedContent.network == filters.network)
        return stmt.subquery("tracked")

    async def summary(self, report_id: uuid.UUID, filters: ReportFilters) -> dict[str, Any]:
        base = self._base(report_id, filters)
        sums = [func.coalesce(func.sum(base.c[name]), 0).label(name) for name in METRICS]
        engaged = func.sum(
            func.coalesce(base.c.likes, 0)
            + func.coalesce(base.c.comments, 0)
            + func.coalesce(base.c.shares, 0)
            + func.coalesce(base.c.saves, 0)
        )
        keys = {"network": base.c.network, "type": base.c.type, "day": base.c.day, "creator": base.c.creator}
        stmt = select(
            *(func.grouping(column).label(f"g_{name}") for name, column in keys.items()),
            *keys.values(),
            func.count().label("contents"),
            func.count(func.distinct(base.c.creator)).label("creators"),
            func.count(func.distinct(base.c.network)).label("networks"),
            func.count().filter(base.c.type == "story").label("stories"),
            *sums,
            engaged.label("engagements"),
            func.sum(base.c.reach).label("reach_known"),
        ).group_by(func.grouping_sets(text("()"), *(tuple_(column) for column in keys.values())))
        rows = (await self.session.execute(stmt)).mappings().all()
        out: dict[str, Any] = {"totals": None, "by_network": [], "by_type": [], "by_day": [], "by_creator": []}
        for row in rows:
            figures = _figures(row)
            grouped = [name for name in keys if row[f"g_{name}"] == 0]
            if not grouped:
                out["totals"] = figures
            else:
                name = grouped[0]
                out[f"by_{name}"].append({"key": str(row[name]), **figures})
        out["totals"] = out["totals"] or _figures(None)
        out["by_day"].sort(key=lambda r: r["key"])
        for name in ("by_network", "by_type", "by_creator"):
            out[name].sort(key=lambda r: (-r["contents"], r["key"]))
        engagement = (
            func.coalesce(base.c.likes, 0)
            + func.coalesce(base.c.comments, 0)
            + func.coalesce(base.c.shares, 0)
            + func.coalesce(base.c.saves, 0)
        )
        top = select(base, engagement.label("engagements")).order_by(
            engagement.desc(), func.coalesce(base.c.views, 0).desc(), base.c.published_at.desc()
        )
        out["top_contents"] = [_public(r) for r in (await self.session.execute(top.limit(TOP))).mappings().all()]
        return out

    async def contents(
        self, report_id: uuid.UUID, filters: ReportFilters, params: PageParams | None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """Newest published first (keyset on published time and source id); every row without `params`."""
        base = self._base(report_id, filters)
        stmt = select(base)
        if params is not None and params.cursor:
            at, last = decode_cursor(params.cursor)
            stmt = stmt.where(or_(base.c.published_at < at, and_(base.c.published_at == at, base.c.source_id < last)))
        stmt = stmt.order_by(base.c.published_at.desc(), base.c.source_id.desc())
        if params is None:
            return [_public(r) for r in (await self.session.execute(stmt)).mappings().all()], None
        rows = list((await self.session.execute(stmt.limit(params.limit + 1))).mappings().all())
        items = rows[: params.limit]
        more = len(rows) > params.limit and items
        cursor = encode_cursor(items[-1]["published_at"], items[-1]["source_id"]) if more else None
        return [_public(r) for r in items], cursor


def _public(row: Any) -> dict[str, Any]:
    """A content row as the API shows it (engagements: likes + comments + shares + saves)."""
    out = {k: v for k, v in row.items() if k not in ("source_id", "day", "engagements")}
    out["engagements"] = sum(out[name] or 0 for name in ("likes", "comments", "shares", "saves"))
    return out


def _figures(row: Any) -> dict[str, Any]:
    if row is None:
        return {"contents": 0, "creators": 0, "networks": 0, "stories": 0, **dict.fromkeys(METRICS, 0),
                "engagements": 0, "engagement_rate": None}  # fmt: skip
    reach = row["reach_known"]
    return {
        "contents": row["contents"],
        "creators": row["creators"],
        "networks": row["networks"],
        "stories": row["stories"],
        **{name: int(row[name]) for name in METRICS},
        "engagements": int(row["engagements"] or 0),
        "engagement_rate": round(int(row["engagements"] or 0) / int(reach), 6) if reach else None,
    }
