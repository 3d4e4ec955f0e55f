from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from loupe.connectors.platforms import Platform
from loupe.influencers.repository import InfluencerFilters
from loupe.influencers.schemas import InfluencerCreate, InfluencerPage, InfluencerRead, InfluencerUpdate
from loupe.influencers.service import InfluencerService
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
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
    q: Annotated[str | None, Query(max_length=200, description="Case-insensitive search in the name.")] = None,
) -> InfluencerPage:
    """Influencers of the workspace, newest first. Filters combine (AND)."""
    filters = InfluencerFilters(
        tag=tag.strip().lower() if tag else None, platform=platform.value if platform else None, q=q
    )
    items, cursor = await InfluencerService(session, principal).list(page, filters)
    return InfluencerPage.of(items, cursor)


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
