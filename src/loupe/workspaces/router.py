from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal, WritePrincipal
from loupe.workspaces.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyRead, WorkspaceRead
from loupe.workspaces.service import WorkspaceService

router = APIRouter(tags=["workspace"])


@router.get("/workspace", operation_id="workspace_get", summary="The caller's workspace")
async def get_workspace(principal: ReadPrincipal, session: SessionDep) -> WorkspaceRead:
    """The workspace the API key belongs to, with its plan."""
    workspace = await WorkspaceService(session).get_workspace(principal.workspace_id)
    return WorkspaceRead.model_validate(workspace)


@router.get("/api-keys", operation_id="api_keys_list", summary="List API keys")
async def list_api_keys(principal: ReadPrincipal, session: SessionDep, page: PageParamsDep) -> ApiKeyPage:
    """Active keys of the workspace, newest first. Secrets are never shown again."""
    items, cursor = await WorkspaceService(session).list_keys(principal.workspace_id, page)
    return ApiKeyPage.of(items, cursor)


@router.post(
    "/api-keys",
    operation_id="api_keys_create",
    summary="Create an API key",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(422),
)
async def create_api_key(body: ApiKeyCreate, principal: WritePrincipal, session: SessionDep) -> ApiKeyCreated:
    """Creates a key and returns its secret once."""
    key, secret = await WorkspaceService(session).create_key(principal.workspace_id, body.name, body.scopes)
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "key": secret})


@router.delete(
    "/api-keys/{api_key_id}",
    operation_id="api_keys_revoke",
    summary="Revoke an API key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, 409),
)
async def revoke_api_key(api_key_id: uuid.UUID, principal: WritePrincipal, session: SessionDep) -> None:
    """Revokes a key at once; requests made with it then answer 401."""
    await WorkspaceService(session).revoke_key(principal.workspace_id, api_key_id, principal.api_key_id)
