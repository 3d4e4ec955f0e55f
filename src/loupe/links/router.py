from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.links.models import LinkKind, TrackingLink
from loupe.links.repository import LinkFilters
from loupe.links.schemas import CampaignLinkCreate, CreatorLinkCreate, LinkPage, LinkRead, LinkUpdate
from loupe.links.service import LinkService
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/links", tags=["tracking links"])
campaign_router = APIRouter(prefix="/campaigns/{campaign_id}/links", tags=["tracking links"])


def page_of(items: list[TrackingLink], cursor: str | None, base_url: str) -> LinkPage:
    return LinkPage.of([LinkRead.of(link, base_url) for link in items], cursor)


@campaign_router.post(
    "",
    operation_id="links_campaign_create",
    summary="Add a campaign-level tracking link",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, 409, 422),
)
async def create_campaign_link(
    campaign_id: uuid.UUID, body: CampaignLinkCreate, principal: WritePrincipal, session: SessionDep, ctx: ContextDep
) -> LinkRead:
    """One destination for the whole campaign. Every creator past `applied` gets their own copy with a unique
    code now, and creators promoted later get theirs on promotion. The campaign-level link itself is a
    template: it has no code and is not served."""
    link = await LinkService(session, principal).create_campaign_link(campaign_id, body)
    return LinkRead.of(link, ctx.settings.public_base_url)


@campaign_router.get(
    "",
    operation_id="links_campaign_list",
    summary="List a campaign's campaign-level links",
    responses=problem_responses(404, 422),
)
async def list_campaign_links(
    campaign_id: uuid.UUID,
    principal: ReadPrincipal,
    session: SessionDep,
    ctx: ContextDep,
    page: PageParamsDep,
    archived: Annotated[bool | None, Query(description="Only archived (true) or live (false) links.")] = None,
) -> LinkPage:
    """The campaign's campaign-level links, newest first. Creators' copies: `GET /v1/links?campaign_id=`."""
    items, cursor = await LinkService(session, principal).list_campaign_links(campaign_id, page, archived)
    return page_of(items, cursor, ctx.settings.public_base_url)


@router.post(
    "",
    operation_id="links_create",
    summary="Create a creator-level tracking link",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422),
)
async def create_link(
    body: CreatorLinkCreate, principal: WritePrincipal, session: SessionDep, ctx: ContextDep
) -> LinkRead:
    """A link of one creator of a campaign, with its own destination; served at `url` at once."""
    link = await LinkService(session, principal).create_creator_link(body)
    return LinkRead.of(link, ctx.settings.public_base_url)


@router.get("", operation_id="links_list", summary="List tracking links", responses=problem_responses(422))
async def list_links(
    principal: ReadPrincipal,
    session: SessionDep,
    ctx: ContextDep,
    page: PageParamsDep,
    campaign_id: Annotated[uuid.UUID | None, Query(description="Only this campaign's links.")] = None,
    influencer_id: Annotated[uuid.UUID | None, Query(description="Only this creator's links.")] = None,
    label: Annotated[str | None, Query(max_length=50, description="Only links with this label.")] = None,
    archived: Annotated[bool | None, Query(description="Only archived (true) or live (false) links.")] = None,
    kind: Annotated[LinkKind | None, Query(description="Only campaign-level or creator links.")] = None,
) -> LinkPage:
    """Every tracking link of the workspace, newest first. Filters combine (AND)."""
    filters = LinkFilters(
        campaign_id=campaign_id,
        influencer_id=influencer_id,
        label=label.strip() if label else None,
        archived=archived,
        kind=kind,
    )
    items, cursor = await LinkService(session, principal).list(page, filters)
    return page_of(items, cursor, ctx.settings.public_base_url)


@router.get("/{link_id}", operation_id="links_get", summary="Get a tracking link", responses=problem_responses(404))
async def get_link(link_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, ctx: ContextDep) -> LinkRead:
    return LinkRead.of(await LinkService(session, principal).get(link_id), ctx.settings.public_base_url)


@router.patch(
    "/{link_id}",
    operation_id="links_update",
    summary="Edit a tracking link",
    responses=problem_responses(404, 409, 422),
)
async def update_link(
    link_id: uuid.UUID, body: LinkUpdate, principal: WritePrincipal, session: SessionDep, ctx: ContextDep
) -> LinkRead:
    """Changes name, destination, labels or UTM fields; codes never change. Editing a campaign-level link
    applies the same change to every creator's live copy; a copy itself is edited through its campaign-level
    link (409). Archived links cannot be edited (409)."""
    link = await LinkService(session, principal).update(link_id, body)
    return LinkRead.of(link, ctx.settings.public_base_url)


@router.post(
    "/{link_id}/archive",
    operation_id="links_archive",
    summary="Archive a tracking link (final)",
    responses=problem_responses(404),
)
async def archive_link(link_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, ctx: ContextDep) -> LinkRead:
    """Archives the link for good: it answers 410 from now on and cannot be edited or reactivated.
    Archiving a campaign-level link archives every creator's copy too. Archiving an archived link changes
    nothing and answers 200 (safe to retry)."""
    link = await LinkService(session, principal).archive(link_id)
    return LinkRead.of(link, ctx.settings.public_base_url)


@router.delete(
    "/{link_id}",
    operation_id="links_delete",
    summary="Links cannot be deleted",
    # The only answers are problems: 409 for a link of this workspace, 404 otherwise.
    status_code=status.HTTP_409_CONFLICT,
    responses=problem_responses(404, 409),
)
async def delete_link(link_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Always refused with 409: links are archived, never deleted, so their clicks stay reportable."""
    await LinkService(session, principal).refuse_delete(link_id)
