from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from loupe.campaigns.creators.models import Stage
from loupe.campaigns.creators.schemas import CreatorPage, CreatorRead, CreatorsAdd, CreatorsAdded, StageMove
from loupe.campaigns.creators.service import CreatorService
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/campaigns/{campaign_id}/creators", tags=["campaign creators"])


@router.post(
    "",
    operation_id="campaigns_creators_add",
    summary="Add creators to a campaign",
    responses=problem_responses(404, 422),
)
async def add_creators(
    campaign_id: uuid.UUID, body: CreatorsAdd, principal: WritePrincipal, session: SessionDep
) -> CreatorsAdded:
    """Adds influencers of the workspace at the `applied` stage. Influencers already in the campaign (or
    listed twice) are reported under `duplicates`, not added again. An unknown influencer is a 422 listing
    each one, and nothing is added."""
    added, duplicates = await CreatorService(session, principal).add(campaign_id, body.influencer_ids)
    return CreatorsAdded.model_validate({"added": added, "duplicates": duplicates})


@router.get(
    "",
    operation_id="campaigns_creators_list",
    summary="List a campaign's creators",
    responses=problem_responses(404, 422),
)
async def list_creators(
    campaign_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    stage: Annotated[Stage | None, Query(description="Only creators at this stage.")] = None,
    authenticated: Annotated[
        bool | None,
        Query(description="true: only creators with an active grant of a healthy connection; false: the others."),
    ] = None,
) -> CreatorPage:
    """Creators of the campaign, most recently added first."""
    items, cursor = await CreatorService(session, principal).list(campaign_id, page, stage, authenticated)
    return CreatorPage.of(items, cursor)


@router.get(
    "/{influencer_id}",
    operation_id="campaigns_creators_get",
    summary="Get a creator of a campaign",
    responses=problem_responses(404),
)
async def get_creator(
    campaign_id: uuid.UUID, influencer_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep
) -> CreatorRead:
    return CreatorRead.model_validate(await CreatorService(session, principal).get(campaign_id, influencer_id))


@router.patch(
    "/{influencer_id}",
    operation_id="campaigns_creators_move",
    summary="Move a creator to another stage",
    responses=problem_responses(404, 409, 422),
)
async def move_creator(
    campaign_id: uuid.UUID, influencer_id: uuid.UUID, body: StageMove, principal: WritePrincipal, session: SessionDep
) -> CreatorRead:
    """Moves the creator along the workflow; a move the workflow does not allow is a 409 naming the allowed
    ones, and the current stage again changes nothing. Reaching approved, active or completed gives the
    creator their own copy of every live campaign-level tracking link, in the same transaction."""
    creator = await CreatorService(session, principal).move(campaign_id, influencer_id, body.stage)
    return CreatorRead.model_validate(creator)


@router.delete(
    "/{influencer_id}",
    operation_id="campaigns_creators_remove",
    summary="Remove a creator from a campaign",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def remove_creator(
    campaign_id: uuid.UUID, influencer_id: uuid.UUID, principal: WritePrincipal, session: SessionDep
) -> None:
    """Removes the creator from the campaign. Their tracking links stay as they are (links are never
    deleted; archive them if they must stop working)."""
    await CreatorService(session, principal).remove(campaign_id, influencer_id)
