from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import AdminPrincipal, OwnerPrincipal, ReadPrincipal
from loupe.workspaces.models import Plan, Workspace
from loupe.workspaces.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyRead,
    ConnectLink,
    WorkspaceRead,
    WorkspaceUpdate,
)
from loupe.workspaces.service import STAGING_CONNECTED_ACCOUNTS, WorkspaceService, connected_accounts

router = APIRouter(tags=["workspace"])


async def _read(session: AsyncSession, workspace: Workspace) -> WorkspaceRead:
    count = await connected_accounts(session, workspace.id)
    limit = STAGING_CONNECTED_ACCOUNTS if workspace.plan is Plan.staging else None
    return WorkspaceRead(
        id=workspace.id,
        name=workspace.name,
        plan=workspace.plan,
        time_zone=workspace.time_zone,
        created_at=workspace.created_at,
        connected_accounts=count,
        connected_accounts_limit=limit,
    )


@router.get("/workspace", operation_id="workspace_get", summary="The caller's workspace")
async def get_workspace(principal: ReadPrincipal, session: SessionDep) -> WorkspaceRead:
    """The caller's workspace (the key's, or the one the access token is bound to), with its plan, its time
    zone and how many accounts are connected of how many the plan allows."""
    return await _read(session, await WorkspaceService(session).get_workspace(principal.workspace_id))


@router.patch(
    "/workspace",
    operation_id="workspace_update",
    summary="Change the workspace's settings",
    responses=problem_responses(422),
)
async def update_workspace(body: WorkspaceUpdate, principal: AdminPrincipal, session: SessionDep) -> WorkspaceRead:
    """Set the time zone of the stats' days. Past and future stats follow it at once (nothing is recounted:
    the figures are kept by the UTC hour)."""
    workspace = await WorkspaceService(session).set_time_zone(principal.workspace_id, body.time_zone)
    return await _read(session, workspace)


@router.delete(
    "/workspace",
    operation_id="workspace_delete",
    summary="Delete the workspace",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
)
async def delete_workspace(
    principal: OwnerPrincipal,
    session: SessionDep,
    confirm: Annotated[str, Query(max_length=200, description="The workspace's exact name.")],
) -> None:
    """Deletes the caller's workspace, for everyone, at once: its API keys, members' access and connect link
    stop working. Its data (campaigns, links, clicks, contents, reports, the audit log) is erased by the
    worker an hour later (`LOUPE_WORKSPACE_ERASE_AFTER_MINUTES`). Owners only; `confirm` must be its name."""
    await WorkspaceService(session).delete_workspace(principal.workspace_id, confirm)


@router.get("/workspace/connect-link", operation_id="workspace_connect_link", summary="The workspace's connect link")
async def get_connect_link(principal: ReadPrincipal, session: SessionDep, ctx: ContextDep) -> ConnectLink:
    """A link any creator can open to join the workspace's creators: they give their name and email first
    (an influencer and an invite are made for them), then connect their accounts. The same link every time."""
    token = await WorkspaceService(session).connect_token(principal.workspace_id)
    return ConnectLink(url=f"{ctx.settings.public_base_url.rstrip('/')}/connect/w/{token}")


@router.get("/api-keys", operation_id="api_keys_list", summary="List API keys")
async def list_api_keys(principal: AdminPrincipal, session: SessionDep, page: PageParamsDep) -> ApiKeyPage:
    """Active keys of the workspace, newest first, with who made each. Secrets are never shown again."""
    items, cursor = await WorkspaceService(session).list_keys(principal.workspace_id, page)
    return ApiKeyPage.of(items, cursor)


@router.post(
    "/api-keys",
    operation_id="api_keys_create",
    summary="Create an API key",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_api_key(body: ApiKeyCreate, principal: AdminPrincipal, session: SessionDep) -> ApiKeyCreated:
    """Creates a key and returns its secret once. It records who made it (the person, or the key used)."""
    key, secret = await WorkspaceService(session).create_key(
        principal.workspace_id, body.name, body.scopes, by_person=principal.person_id, by_key=principal.api_key_id
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "key": secret})


@router.delete(
    "/api-keys/{api_key_id}",
    operation_id="api_keys_revoke",
    summary="Revoke an API key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409),
)
async def revoke_api_key(api_key_id: uuid.UUID, principal: AdminPrincipal, session: SessionDep) -> None:
    """Revokes a key at once; requests made with it then answer 401."""
    await WorkspaceService(session).revoke_key(principal.workspace_id, api_key_id, principal.api_key_id)
