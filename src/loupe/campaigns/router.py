from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from loupe.campaigns.schemas import CampaignCreate, CampaignPage, CampaignRead, CampaignUpdate
from loupe.campaigns.service import CampaignService
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


@router.post(
    "",
    operation_id="campaigns_create",
    summary="Create a campaign",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_campaign(body: CampaignCreate, principal: WritePrincipal, session: SessionDep) -> CampaignRead:
    """Creates a campaign. `ends_on` may not be before `starts_on`; `story_capture: true` opens the
    first story-capture window now."""
    return CampaignRead.model_validate(await CampaignService(session, principal).create(body))


@router.get("", operation_id="campaigns_list", summary="List campaigns", responses=problem_responses(422))
async def list_campaigns(principal: ReadPrincipal, session: SessionDep, page: PageParamsDep) -> CampaignPage:
    """Campaigns of the workspace, newest first."""
    items, cursor = await CampaignService(session, principal).list(page)
    return CampaignPage.of(items, cursor)


@router.get("/{campaign_id}", operation_id="campaigns_get", summary="Get a campaign", responses=problem_responses(404))
async def get_campaign(campaign_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> CampaignRead:
    """The campaign with its story-capture toggle and the history of when it was on."""
    return CampaignRead.model_validate(await CampaignService(session, principal).get(campaign_id))


@router.patch(
    "/{campaign_id}",
    operation_id="campaigns_update",
    summary="Update a campaign",
    responses=problem_responses(404, 422),
)
async def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, principal: WritePrincipal, session: SessionDep
) -> CampaignRead:
    """Changes the fields sent. Switching `story_capture` opens or closes a window of its history;
    sending its current value changes nothing."""
    return CampaignRead.model_validate(await CampaignService(session, principal).update(campaign_id, body))


@router.delete(
    "/{campaign_id}",
    operation_id="campaigns_delete",
    summary="Delete a campaign",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409),
)
async def delete_campaign(campaign_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Deletes the campaign with its creators, story-capture history and captured stories (their media
    files too). Refused (409) once it has tracking links: links are never deleted."""
    await CampaignService(session, principal).delete(campaign_id)
