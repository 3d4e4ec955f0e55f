from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from loupe.accounts.schemas import ContentType
from loupe.connectors.platforms import Platform
from loupe.kit.days import check_days, day_start
from loupe.kit.deps import ContextDep, JobsDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.trackings.analytics import ReportFilters, contents_csv
from loupe.trackings.repository import TrackedFilters
from loupe.trackings.schemas import (
    InviteLink,
    Outcome,
    ProfilesAdd,
    ProfilesAdded,
    ProfilesRemove,
    ProfilesRemoved,
    RematchQueued,
    ReportContentPage,
    ReportSummary,
    TrackedContentPage,
    TrackedProfilePage,
    TrackedProfileRead,
    TrackingCreate,
    TrackingPage,
    TrackingRead,
    TrackingUpdate,
)
from loupe.trackings.service import TrackingService
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(tags=["trackings"])
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The contents (JSON or CSV)."}
}

TERMS_RULES = """Terms: hashtags and mentions match whole tags, case-insensitively (`#HappySpring` matches
`#happyspring`, not `#HappySpringtime`); keywords match whole words or phrases, case- and accent-insensitively,
across emoji and punctuation (`cafe` matches `Café!`). A content matches when any term does. A leading `#` or `@`
is optional, duplicates are removed, each term is at most 100 characters and each kind at most 100 terms; every
bad term is named (`body.hashtags.2`). At least one term is required (422)."""
CREATE_DOC = f"""Creates criteria that collect every matching content of the tracking's profiles on its network,
published from `start_date` (not before the day the report was created, 422) to `end_date` (optional,
not before the start, 422), both UTC days inclusive. The name is unique in the workspace across its
reports, whatever the case: a second one is a 409, also when both requests arrive at once.

{TERMS_RULES}"""


@router.post(
    "/reports/{report_id}/trackings",
    operation_id="trackings_create",
    summary="Create a tracking in a report",
    description=CREATE_DOC,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 409, 422),
)
async def create_tracking(
    report_id: uuid.UUID, body: TrackingCreate, principal: WritePrincipal, session: SessionDep
) -> TrackingRead:
    return TrackingRead.model_validate(await TrackingService(session, principal).create(report_id, body))


@router.get(
    "/reports/{report_id}/trackings",
    operation_id="trackings_list",
    summary="List a report's trackings",
    responses=problem_responses(404, 422),
)
async def list_trackings(
    report_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, page: PageParamsDep
) -> TrackingPage:
    """The report's trackings, newest first."""
    items, cursor = await TrackingService(session, principal).list(report_id, page)
    return TrackingPage.of(items, cursor)


@router.get(
    "/trackings/{tracking_id}", operation_id="trackings_get", summary="Get a tracking", responses=problem_responses(404)
)
async def get_tracking(tracking_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> TrackingRead:
    return TrackingRead.model_validate(await TrackingService(session, principal).get(tracking_id))


@router.patch(
    "/trackings/{tracking_id}",
    operation_id="trackings_update",
    summary="Update a tracking",
    responses=problem_responses(404, 409, 422),
)
async def update_tracking(
    tracking_id: uuid.UUID, body: TrackingUpdate, principal: WritePrincipal, session: SessionDep
) -> TrackingRead:
    """Changes the fields sent (the network stays). The same rules as at creation apply to the result.
    Edits apply to contents stored from now on; `POST /v1/trackings/{tracking_id}/rematch` applies them
    to the contents already stored."""
    return TrackingRead.model_validate(await TrackingService(session, principal).update(tracking_id, body))


@router.delete(
    "/trackings/{tracking_id}",
    operation_id="trackings_delete",
    summary="Delete a tracking",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_tracking(tracking_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Deletes the tracking, its profiles and what it collected (the contents themselves stay)."""
    await TrackingService(session, principal).delete(tracking_id)


@router.post(
    "/trackings/{tracking_id}/profiles",
    operation_id="trackings_profiles_add",
    summary="Add profiles to a tracking",
    responses=problem_responses(404, 422),
)
async def add_profiles(
    tracking_id: uuid.UUID, body: ProfilesAdd, principal: WritePrincipal, session: SessionDep
) -> ProfilesAdded:
    """Adds profiles by `handles` (at most 20 @handles or profile URLs per request; 21 is a 422), by
    `influencer_ids` (their profiles on the tracking's network) or by `list_ids` (their members' profiles).
    Every input is answered as `added`, `duplicate` (already tracked, or listed earlier in the request) or
    `invalid` with a reason (not a profile URL, a URL of another network, an unknown influencer...)."""
    results = await TrackingService(session, principal).add_profiles(tracking_id, body)
    count = {o: sum(1 for r in results if r.outcome is o) for o in Outcome}
    return ProfilesAdded(
        results=results, added=count[Outcome.added], duplicates=count[Outcome.duplicate], invalid=count[Outcome.invalid]
    )


@router.get(
    "/trackings/{tracking_id}/profiles",
    operation_id="trackings_profiles_list",
    summary="List a tracking's profiles",
    responses=problem_responses(404, 422),
)
async def list_profiles(
    tracking_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, page: PageParamsDep
) -> TrackedProfilePage:
    """The tracked profiles, most recently added first, each with `api_access` (an active grant of a
    healthy connection of that account) and the status of the influencer's invite."""
    views, cursor = await TrackingService(session, principal).profiles(tracking_id, page)
    items = [
        TrackedProfileRead(
            id=v.profile.id,
            platform=v.profile.platform,  # type: ignore[arg-type]
            handle=v.profile.handle,
            platform_user_id=v.profile.platform_user_id,
            influencer_id=v.profile.influencer_id,
            influencer_name=v.influencer_name,
            api_access=v.api_access,
            invite_status=v.invite_status or "not_invited",  # type: ignore[arg-type]
            created_at=v.profile.created_at,
        )
        for v in views
    ]
    return TrackedProfilePage.of(items, cursor)


@router.post(
    "/trackings/{tracking_id}/profiles/remove",
    operation_id="trackings_profiles_remove",
    summary="Remove profiles from a tracking",
    responses=problem_responses(404, 422),
)
async def remove_profiles(
    tracking_id: uuid.UUID, body: ProfilesRemove, principal: WritePrincipal, session: SessionDep
) -> ProfilesRemoved:
    """Removes many profiles at once; ids that are not profiles of this tracking are ignored. What the
    tracking already collected from them stays."""
    removed = await TrackingService(session, principal).remove_profiles(tracking_id, body.profile_ids)
    return ProfilesRemoved(removed=removed)


@router.post(
    "/trackings/{tracking_id}/rematch",
    operation_id="trackings_rematch",
    summary="Re-match stored contents",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(404),
)
async def rematch(
    tracking_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, ctx: ContextDep, jobs: JobsDep
) -> RematchQueued:
    """Queues a job that applies the tracking's current criteria, profiles and span to every stored content
    of the accounts it follows (and the stories captured by hand for its influencers): what no longer
    matches leaves the tracking, what matches now joins it, matched terms are updated. One job per tracking
    is queued at a time."""
    return await TrackingService(session, principal).rematch(tracking_id, jobs, ctx.arq)


@router.get(
    "/trackings/{tracking_id}/contents",
    operation_id="trackings_contents",
    summary="List a tracking's contents",
    responses=problem_responses(404, 422),
)
async def list_contents(
    tracking_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    profile_id: Annotated[uuid.UUID | None, Query(description="Only contents of this tracked profile.")] = None,
    type: Annotated[ContentType | None, Query(description="Only contents of this type.")] = None,
    first: Annotated[date | None, Query(alias="from", description="First UTC day of publication, included.")] = None,
    last: Annotated[date | None, Query(alias="to", description="Last UTC day of publication, included.")] = None,
) -> TrackedContentPage:
    """The contents the tracking collected, newest published first, each with the terms it matched and the
    content with its metrics (API contents, and stories captured by hand with `source: manual`)."""
    check_days(first, last)
    filters = TrackedFilters(
        profile_id=profile_id,
        type=type.value if type else None,
        start=day_start(first) if first else None,
        end=day_start(last) + timedelta(days=1) if last else None,
    )
    items, cursor = await TrackingService(session, principal).contents(tracking_id, filters, page)
    return TrackedContentPage.of(items, cursor)


@router.get(
    "/trackings/{tracking_id}/invite-link",
    operation_id="trackings_invite_link",
    summary="Get the tracking's opt-in link",
    responses=problem_responses(404),
)
async def invite_link(
    tracking_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, ctx: ContextDep
) -> InviteLink:
    """The workspace's connect link bound to this tracking (it exists once the tracking does): a creator who
    gives their name and email through it and connects an account of the tracking's network has that account
    added to the tracking's profiles, with `api_access` yes. Send it to the creators you want to track; a
    creator with several accounts should be told which to connect."""
    return InviteLink(
        url=await TrackingService(session, principal).invite_link(tracking_id, ctx.settings.public_base_url)
    )


def _report_filters(
    first: date | None, last: date | None, tracking_id: uuid.UUID | None, network: Platform | None
) -> ReportFilters:
    check_days(first, last)
    return ReportFilters(
        start=day_start(first) if first else None,
        end=day_start(last) + timedelta(days=1) if last else None,
        tracking_id=tracking_id,
        network=network.value if network else None,
    )


ReportFrom = Annotated[date | None, Query(alias="from", description="First UTC day of publication, included.")]
ReportTo = Annotated[date | None, Query(alias="to", description="Last UTC day of publication, included.")]
ReportTracking = Annotated[uuid.UUID | None, Query(description="Only what this tracking of the report collected.")]
ReportNetwork = Annotated[Platform | None, Query(description="Only contents of this network.")]


@router.get(
    "/reports/{report_id}/summary",
    operation_id="reports_summary",
    summary="Summary of a report",
    tags=["reports"],
    responses=problem_responses(404, 422),
)
async def report_summary(
    report_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    first: ReportFrom = None,
    last: ReportTo = None,
    tracking_id: ReportTracking = None,
    network: ReportNetwork = None,
) -> ReportSummary:
    """Contents, creators, networks, stories, likes, comments, shares, saves, views, reach and the engagement
    rate ((likes + comments + shares + saves) / reach) of what the report's trackings collected, each
    content once; breakdowns by creator, network, content type and day; the top 10 contents. A metric set
    by hand counts instead of the API's."""
    filters = _report_filters(first, last, tracking_id, network)
    return ReportSummary.model_validate(await TrackingService(session, principal).report_summary(report_id, filters))


@router.get(
    "/reports/{report_id}/contents",
    operation_id="reports_contents",
    summary="Contents of a report",
    tags=["reports"],
    response_model=ReportContentPage,
    responses=CSV_RESPONSE | problem_responses(404, 422),
)
async def report_contents(
    report_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    first: ReportFrom = None,
    last: ReportTo = None,
    tracking_id: ReportTracking = None,
    network: ReportNetwork = None,
    format: Annotated[Literal["json", "csv"], Query(description="`csv`: every row as text/csv.")] = "json",
) -> Any:
    """One row per content the report's trackings collected, with its metrics, newest published first;
    `format=csv` answers every row (no pages) as a CSV file."""
    filters = _report_filters(first, last, tracking_id, network)
    service = TrackingService(session, principal)
    if format == "csv":
        rows, _ = await service.report_contents(report_id, filters, None)
        headers = {"Content-Disposition": f'attachment; filename="report-{report_id}-contents.csv"'}
        return Response(contents_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    rows, cursor = await service.report_contents(report_id, filters, page)
    return ReportContentPage.of(rows, cursor)
