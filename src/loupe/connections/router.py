from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from loupe.connections.models import ConnectionStatus
from loupe.connections.schemas import (
    ConnectedAccountPage,
    ConnectedAccountRead,
    ConnectionFailurePage,
)
from loupe.connections.service import ConnectionService
from loupe.connectors.platforms import Platform
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import ReadPrincipal

router = APIRouter(tags=["connections"])


@router.get(
    "/connected-accounts",
    operation_id="connected_accounts_list",
    summary="List connected accounts",
    responses=problem_responses(422),
)
async def list_connected_accounts(
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    platform: Annotated[Platform | None, Query(description="Only this platform.")] = None,
    status: Annotated[ConnectionStatus | None, Query(description="Only this status.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Part of the influencer's name or email, or of the username.")
    ] = None,
) -> ConnectedAccountPage:
    """Accounts creators connected to the workspace through their invite pages, newest first: who, which
    account, its status and when access ends. Tokens are never shown."""
    items, cursor = await ConnectionService(session, principal).list(page, platform, status, q)
    return ConnectedAccountPage.of(items, cursor)


@router.get(
    "/connected-accounts/{connected_account_id}",
    operation_id="connected_accounts_get",
    summary="Get a connected account",
    responses=problem_responses(404),
)
async def get_connected_account(
    connected_account_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep
) -> ConnectedAccountRead:
    """One connected account of the workspace (another workspace's id is a 404)."""
    return ConnectedAccountRead.model_validate(await ConnectionService(session, principal).get(connected_account_id))


@router.get(
    "/connection-failures",
    operation_id="connection_failures_list",
    summary="List failed connection attempts",
    responses=problem_responses(422),
)
async def list_connection_failures(
    principal: ReadPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    invite_id: Annotated[uuid.UUID | None, Query(description="Only this invite's attempts.")] = None,
    platform: Annotated[Platform | None, Query(description="Only this platform.")] = None,
) -> ConnectionFailurePage:
    """Every failed attempt to connect, newest first, with a reason code and plain words: refused consent,
    personal Instagram account, no linked Page, expired or reused state, plan limit, platform errors."""
    items, cursor = await ConnectionService(session, principal).failures(page, invite_id, platform)
    return ConnectionFailurePage.of(items, cursor)
