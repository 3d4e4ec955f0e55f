"""Stats of links, campaigns and the workspace: JSON, or CSV with `?format=csv`."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.stats.export import links_csv, stats_csv
from loupe.stats.schemas import CampaignStats, LinkStats, WorkspaceLinkStats
from loupe.stats.service import StatsService
from loupe.workspaces.auth import ReadPrincipal

router = APIRouter(tags=["stats"])

From = Annotated[date | None, Query(alias="from", description="First UTC day (default: 29 days before `to`).")]
To = Annotated[date | None, Query(description="Last UTC day, included (default: today).")]
Format = Annotated[Literal["json", "csv"], Query(description="`csv` answers text/csv.")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The stats (JSON or CSV)."}
}


def _csv(body: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


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
    return _csv(stats_csv(stats), f"link-{link_id}-stats") if format == "csv" else stats


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
    return _csv(stats_csv(stats), f"campaign-{campaign_id}-stats") if format == "csv" else stats


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
    return _csv(links_csv(stats), "links-stats") if format == "csv" else stats
