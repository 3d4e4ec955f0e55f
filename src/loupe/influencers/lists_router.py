from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from loupe.influencers.models import InfluencerList
from loupe.influencers.schemas import ListCreate, ListPage, ListRead, MembersChange, MembersChanged
from loupe.influencers.service import InfluencerListService
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/influencer-lists", tags=["influencers"])


def _read(item: InfluencerList, members: int) -> ListRead:
    return ListRead(id=item.id, name=item.name, members=members, created_at=item.created_at, updated_at=item.updated_at)


@router.post(
    "",
    operation_id="influencer_lists_create",
    summary="Create an influencer list",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422),
)
async def create_list(body: ListCreate, principal: WritePrincipal, session: SessionDep) -> ListRead:
    """A named set of influencers (names unique in the workspace, whatever the case: 409)."""
    return _read(await InfluencerListService(session, principal).create(body.name), 0)


@router.get("", operation_id="influencer_lists_list", summary="List influencer lists", responses=problem_responses(422))
async def list_lists(principal: ReadPrincipal, session: SessionDep, page: PageParamsDep) -> ListPage:
    items, cursor = await InfluencerListService(session, principal).list(page)
    return ListPage.of([_read(item, count) for item, count in items], cursor)


@router.get(
    "/{list_id}",
    operation_id="influencer_lists_get",
    summary="Get an influencer list",
    responses=problem_responses(404),
)
async def get_list(list_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep) -> ListRead:
    service = InfluencerListService(session, principal)
    item = await service.get(list_id)
    return _read(item, await service.size(item.id))


@router.patch(
    "/{list_id}",
    operation_id="influencer_lists_update",
    summary="Rename an influencer list",
    responses=problem_responses(404, 409, 422),
)
async def rename_list(list_id: uuid.UUID, body: ListCreate, principal: WritePrincipal, session: SessionDep) -> ListRead:
    service = InfluencerListService(session, principal)
    item = await service.rename(list_id, body.name)
    return _read(item, await service.size(item.id))


@router.delete(
    "/{list_id}",
    operation_id="influencer_lists_delete",
    summary="Delete an influencer list",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_list(list_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Deletes the list; its influencers stay in the CRM."""
    await InfluencerListService(session, principal).delete(list_id)


@router.post(
    "/{list_id}/members",
    operation_id="influencer_lists_members_add",
    summary="Add influencers to a list",
    responses=problem_responses(404, 422),
)
async def add_members(
    list_id: uuid.UUID, body: MembersChange, principal: WritePrincipal, session: SessionDep
) -> MembersChanged:
    """Adds many at once. All or nothing: an id that is not an influencer of the workspace is a 422 naming
    it (`body.influencer_ids.3`). Members already in the list are left as they are."""
    service = InfluencerListService(session, principal)
    changed = await service.add_members(list_id, body.influencer_ids)
    return MembersChanged(changed=changed, members=await service.size(list_id))


@router.post(
    "/{list_id}/members/remove",
    operation_id="influencer_lists_members_remove",
    summary="Remove influencers from a list",
    responses=problem_responses(404, 422),
)
async def remove_members(
    list_id: uuid.UUID, body: MembersChange, principal: WritePrincipal, session: SessionDep
) -> MembersChanged:
    """Removes many at once; ids not in the list are ignored. The influencers stay in the CRM."""
    service = InfluencerListService(session, principal)
    changed = await service.remove_members(list_id, body.influencer_ids)
    return MembersChanged(changed=changed, members=await service.size(list_id))
