from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status

from loupe.connectors.platforms import Platform
from loupe.influencers.repository import InfluencerFilters
from loupe.influencers.schemas import ImportResult, InfluencerCreate, InfluencerPage, InfluencerRead, InfluencerUpdate
from loupe.influencers.service import InfluencerService
from loupe.kit import csvfile
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.middleware import FORM_OVERHEAD, body_limit
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/influencers", tags=["influencers"])


@router.post(
    "",
    operation_id="influencers_create",
    summary="Create an influencer",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_influencer(body: InfluencerCreate, principal: WritePrincipal, session: SessionDep) -> InfluencerRead:
    """Adds an influencer to the workspace's CRM. `name` is required; handles are normalised
    (leading @ removed, lower-cased) and must be unique per platform within the influencer."""
    return InfluencerRead.model_validate(await InfluencerService(session, principal).create(body))


@router.get("", operation_id="influencers_list", summary="List influencers", responses=problem_responses(422))
async def list_influencers(
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    tag: Annotated[str | None, Query(max_length=100, description="Only influencers with this tag.")] = None,
    platform: Annotated[Platform | None, Query(description="Only influencers with a profile there.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive search in names, emails and handles.")
    ] = None,
    authenticated: Annotated[
        bool | None,
        Query(description="true: only influencers with an active grant of a healthy connection; false: the others."),
    ] = None,
) -> InfluencerPage:
    """Influencers of the workspace, newest first. Filters combine (AND)."""
    filters = InfluencerFilters(
        tag=tag.strip().lower() if tag else None,
        platform=platform.value if platform else None,
        q=q if q and q.strip() else None,
        authenticated=authenticated,
    )
    items, cursor = await InfluencerService(session, principal).list(page, filters)
    return InfluencerPage.of(items, cursor)


@router.post(
    "/import",
    operation_id="influencers_import",
    summary="Import influencers from a CSV file",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(413, 415, 422),
)
@body_limit(lambda _: csvfile.MAX_BYTES + FORM_OVERHEAD)
async def import_influencers(
    file: Annotated[
        UploadFile,
        File(
            description="CSV, UTF-8: header `name` and any of "
            "`email,tags,instagram,facebook,tiktok,youtube,twitter,twitch`."
        ),
    ],
    principal: WritePrincipal,
    session: SessionDep,
) -> ImportResult:
    """All or nothing, like the invite file: every line is checked first and any bad one (a missing name, a bad
    or duplicate email, an email already in the workspace, a tag too long, a handle or profile URL that is not
    of its column's platform) makes a 422 naming each bad cell by its line (`file.line.7.instagram`), and
    nothing is created. Tags are separated by `;`, `,` or `|`. Platform columns take @handles or profile URLs
    (`instagram.com/name`, `youtube.com/channel/UC…`...). At most 2 MB (413); not UTF-8 is a 415."""
    data = await file.read(csvfile.MAX_BYTES + 1)
    csvfile.check_size(data, "influencer")
    return ImportResult(created=await InfluencerService(session, principal).import_csv(data))


@router.get(
    "/{influencer_id}",
    operation_id="influencers_get",
    summary="Get an influencer",
    responses=problem_responses(404),
)
async def get_influencer(influencer_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> InfluencerRead:
    return InfluencerRead.model_validate(await InfluencerService(session, principal).get(influencer_id))


@router.patch(
    "/{influencer_id}",
    operation_id="influencers_update",
    summary="Update an influencer",
    responses=problem_responses(404, 422),
)
async def update_influencer(
    influencer_id: uuid.UUID, body: InfluencerUpdate, principal: WritePrincipal, session: SessionDep
) -> InfluencerRead:
    """Changes the fields sent. `profiles`, when sent, is the complete new set; `email: null` clears the email."""
    return InfluencerRead.model_validate(await InfluencerService(session, principal).update(influencer_id, body))


@router.delete(
    "/{influencer_id}",
    operation_id="influencers_delete",
    summary="Delete an influencer",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409),
)
async def delete_influencer(influencer_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Deletes the influencer, their profiles, campaign memberships and captured stories (their media files
    too). Refused (409) once they have tracking links: links are never deleted."""
    await InfluencerService(session, principal).delete(influencer_id)
