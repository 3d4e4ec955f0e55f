from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response

from loupe.accounts.schemas import (
    AccountProfileRead,
    AudienceRead,
    ContentPage,
    ContentRead,
    ContentUpdate,
    ProfileSnapshotPage,
    RefreshQueued,
)
from loupe.accounts.service import AccountDataService
from loupe.connectors.models import ContentType
from loupe.connectors.platforms import Platform
from loupe.kit.deps import ContextDep, JobsDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

TAG = "connected account data"
router = APIRouter(tags=[TAG])

From = Annotated[date | None, Query(alias="from", description="First UTC day, included (default: no lower bound).")]
To = Annotated[date | None, Query(alias="to", description="Last UTC day, included (default: no upper bound).")]
ACCOUNT = "/connected-accounts/{connected_account_id}"


@router.get(
    ACCOUNT + "/profile",
    operation_id="connected_accounts_profile",
    summary="Get a connected account's profile",
    responses=problem_responses(404),
)
async def get_profile(
    connected_account_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep
) -> AccountProfileRead:
    """The profile as last read from the platform: names, bio, counts, the platform's extras and
    `last_refreshed_at`. Before the first refresh it answers 200 with the account's identity, null figures and
    `last_refreshed_at: null`. A disconnected account still shows the data it had."""
    return await AccountDataService(session, principal).profile(connected_account_id)


@router.get(
    ACCOUNT + "/profile/history",
    operation_id="connected_accounts_profile_history",
    summary="List a connected account's daily profile snapshots",
    responses=problem_responses(404, 422),
)
async def get_profile_history(
    connected_account_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    first: From = None,
    last: To = None,
) -> ProfileSnapshotPage:
    """Followers, following and content counts once per UTC day (the day's last refresh), newest day first:
    the points of a growth chart."""
    items, cursor = await AccountDataService(session, principal).history(connected_account_id, first, last, page)
    return ProfileSnapshotPage.of(items, cursor)


@router.get(
    ACCOUNT + "/audience",
    operation_id="connected_accounts_audience",
    summary="Get a connected account's audience",
    responses=problem_responses(404),
)
async def get_audience(connected_account_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> AudienceRead:
    """The latest audience in percentages: top 3 countries and cities plus "others", age ranges and genders,
    each summing to 100. `available: false` (with `note`) where the platform has no demographics."""
    return await AccountDataService(session, principal).audience(connected_account_id)


@router.get(
    ACCOUNT + "/contents",
    operation_id="connected_accounts_contents_list",
    summary="List a connected account's contents",
    responses=problem_responses(404, 422),
)
async def list_account_contents(
    connected_account_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    type_: Annotated[ContentType | None, Query(alias="type", description="Only this type of content.")] = None,
    first: From = None,
    last: To = None,
) -> ContentPage:
    """Posts, reels, videos, shorts, tweets, streams and stories, newest published first (`from`/`to` on the
    publication day), each with the platform's metrics, the ones this workspace set by hand, media and permalink."""
    items, cursor = await AccountDataService(session, principal).contents(
        connected_account_id, type_.value if type_ else None, first, last, page
    )
    return ContentPage.of(items, cursor)


@router.post(
    ACCOUNT + "/refresh",
    operation_id="connected_accounts_refresh",
    summary="Refresh a connected account now",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(403, 404, 409),
)
async def refresh_account(
    connected_account_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, jobs: JobsDep, ctx: ContextDep
) -> RefreshQueued:
    """Queue a refresh of the account's profile, audience, contents and metrics, outside its daily slot. A
    refresh already queued or running is not queued twice (`queued: false`). An account that is
    disconnected, expired or revoked answers 409: the creator must reconnect it first."""
    return await AccountDataService(session, principal).refresh(connected_account_id, jobs, ctx.arq)


@router.patch(
    "/contents/{content_id}",
    operation_id="contents_update",
    summary="Set a content's metrics by hand",
    responses=problem_responses(403, 404, 422),
)
async def update_content(
    content_id: uuid.UUID, body: ContentUpdate, principal: WritePrincipal, session: SessionDep
) -> ContentRead:
    """Metrics this workspace knows better than the API (a story's reach from a screenshot, impressions the
    platform does not share): kept beside the API's values as `manual_metrics`, `metrics_source: manual`, and
    never overwritten by a refresh. Send only the fields to change; null clears one. Any content of an
    account connected to the workspace, stories included, and any story captured by hand (`source: manual`
    in a campaign's contents), whose metrics are all its own."""
    return await AccountDataService(session, principal).set_metrics(content_id, body)


@router.get(
    "/contents/{content_id}/media/{index}",
    operation_id="contents_media_get",
    summary="Download a content's stored media",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}, "video/*": {}}, "description": "The file (local media store)."},
        307: {"description": "A signed URL of the file, valid for 5 minutes (object storage)."},
        **problem_responses(404),
    },
)
async def content_media(
    content_id: uuid.UUID,
    index: Annotated[int, Path(ge=0, le=50, description="The media's position in `media` (0 first).")],
    principal: ReadPrincipal,
    session: SessionDep,
    ctx: ContextDep,
) -> Response:
    """A media file Loupe copied before the platform's URL expired (API stories: `media[i].stored` is true),
    served with `X-Content-Type-Options: nosniff`."""
    key, content_type = await AccountDataService(session, principal).stored_media(content_id, index)
    return await ctx.media.response(key, content_type)


@router.get(
    "/campaigns/{campaign_id}/contents",
    operation_id="campaigns_contents_list",
    summary="List a campaign's contents",
    responses=problem_responses(404, 422),
)
async def list_campaign_contents(
    campaign_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    influencer_id: Annotated[uuid.UUID | None, Query(description="Only this creator's contents.")] = None,
    type_: Annotated[ContentType | None, Query(alias="type", description="Only this type of content.")] = None,
    platform: Annotated[Platform | None, Query(description="Only this platform.")] = None,
) -> ContentPage:
    """One timeline of the campaign, newest first: what its creators (past `applied`: approved, active,
    completed) published on their connected accounts within the campaign's dates (from `starts_on`, through
    `ends_on` when set), with API and manual metrics, and the stories captured by hand for it (`source:
    manual`; they are edited under `/v1/campaigns/{campaign_id}/stories`)."""
    items, cursor = await AccountDataService(session, principal).campaign_contents(
        campaign_id,
        page,
        influencer_id=influencer_id,
        type_=type_.value if type_ else None,
        platform=platform.value if platform else None,
    )
    return ContentPage.of(items, cursor)
