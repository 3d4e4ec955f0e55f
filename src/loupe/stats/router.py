"""Stats of links, campaigns and the workspace: JSON, or CSV with `?format=csv`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.stats.export import (
    CREATOR_COLUMNS,
    LINK_COLUMNS,
    STATS_COLUMNS,
    creator_rows,
    csv_lines,
    link_rows,
    stats_rows,
)
from loupe.stats.schemas import CampaignStats, CreatorSort, CreatorStats, LinkStats, Stats, WorkspaceLinkStats
from loupe.stats.service import StatsService, resolve_range
from loupe.workspaces.auth import Principal, ReadPrincipal

router = APIRouter(tags=["stats"])

From = Annotated[
    date | None,
    Query(alias="from", description="First day, in the workspace's time zone (default: 29 days before `to`)."),
]
To = Annotated[date | None, Query(description="Last day, included, in the workspace's time zone (default: today).")]
Format = Annotated[Literal["json", "csv"], Query(description="`csv` answers text/csv, streamed.")]
Sort = Annotated[CreatorSort, Query(description="The figure creators are ordered by (then their id).")]
Order = Annotated[Literal["desc", "asc"], Query(description="`desc` (default): largest first.")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The stats (JSON or CSV)."}
}


def _csv(lines: AsyncIterator[str], name: str) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/links/{link_id}/stats",
    operation_id="links_stats",
    summary="Stats of a link",
    response_model=LinkStats,
    responses=CSV_RESPONSE | problem_responses(404, 422),
)
async def link_stats(
    link_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    from_: From = None,
    to: To = None,
    format: Format = "json",
) -> Any:
    """Clicks (people), unique clicks, bot clicks (apart), conversions, revenue per currency and the
    conversion rate, with breakdowns by day, country, device and referrer. For a campaign-level link,
    the figures of the creators' copies generated from it."""
    stats = await StatsService(session, principal).link(link_id, from_, to)
    return _csv(csv_lines(STATS_COLUMNS, stats_rows(stats)), f"link-{link_id}-stats") if format == "csv" else stats


@router.get(
    "/campaigns/{campaign_id}/stats",
    operation_id="campaigns_stats",
    summary="Stats of a campaign",
    response_model=CampaignStats,
    responses=CSV_RESPONSE | problem_responses(404, 422),
)
async def campaign_stats(
    campaign_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    from_: From = None,
    to: To = None,
    format: Format = "json",
) -> Any:
    """The same figures over all the campaign's links (its creators' links included)."""
    stats = await StatsService(session, principal).campaign(campaign_id, from_, to)
    if format == "csv":
        return _csv(csv_lines(STATS_COLUMNS, stats_rows(stats)), f"campaign-{campaign_id}-stats")
    return stats


@router.get(
    "/stats/links",
    operation_id="stats_links",
    summary="Stats of every link",
    response_model=WorkspaceLinkStats,
    responses=CSV_RESPONSE | problem_responses(422),
)
async def workspace_link_stats(
    principal: ReadPrincipal, session: SessionDep, from_: From = None, to: To = None, format: Format = "json"
) -> Any:
    """Each creator link of the workspace with its figures, most clicked first."""
    stats = await StatsService(session, principal).links(from_, to)
    return _csv(csv_lines(LINK_COLUMNS, link_rows(stats)), "links-stats") if format == "csv" else stats


@router.get(
    "/stats",
    operation_id="stats_workspace",
    summary="Stats of the whole workspace",
    response_model=Stats,
    responses=CSV_RESPONSE | problem_responses(422),
)
async def workspace_stats(
    principal: ReadPrincipal, session: SessionDep, from_: From = None, to: To = None, format: Format = "json"
) -> Any:
    """The figures of every link of the workspace together, with the same breakdowns as a campaign."""
    stats = await StatsService(session, principal).workspace(from_, to)
    return _csv(csv_lines(STATS_COLUMNS, stats_rows(stats)), "workspace-stats") if format == "csv" else stats


@router.get(
    "/stats/creators",
    operation_id="stats_creators",
    summary="Stats per creator",
    response_model=CreatorStats,
    responses=CSV_RESPONSE | problem_responses(422),
)
async def creator_stats(
    principal: ReadPrincipal,
    session: SessionDep,
    ctx: ContextDep,
    page: PageParamsDep,
    from_: From = None,
    to: To = None,
    sort: Sort = CreatorSort.clicks,
    order: Order = "desc",
    format: Format = "json",
) -> Any:
    """Each creator (influencer) with links: clicks, unique clicks, bot clicks, conversions, revenue per
    currency and conversion rate summed over all their links in every campaign; sorted, a page at a time.
    With `format=csv`, every creator in that order (no pages), streamed as it is read."""
    if format == "csv":
        resolve_range(from_, to)  # a bad range is a 422, not a stream cut short
        return _csv(_creator_lines(ctx.sessionmaker, principal, from_, to, sort, order), "creators-stats")
    return await StatsService(session, principal).creators(from_, to, sort, order, page)


async def _creator_lines(
    sessionmaker: Any, principal: Principal, first: date | None, last: date | None, sort: CreatorSort, order: str
) -> AsyncIterator[str]:
    """The stream reads in a session of its own: the request's closes when the endpoint returns."""
    async with sessionmaker() as session:
        rows = StatsService(session, principal).all_creators(first, last, sort, order)
        async for line in csv_lines(CREATOR_COLUMNS, creator_rows(rows)):
            yield line
