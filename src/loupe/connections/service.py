"""What brands read of connections: their connected accounts and the failed attempts."""

from __future__ import annotations

import builtins
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import Connection, ConnectionFailure, ConnectionStatus, Grant
from loupe.connections.repository import ConnectionRepository, GrantFilters, GrantRepository
from loupe.influencers.models import Influencer
from loupe.influencers.service import authenticated_influencers
from loupe.kit.errors import NotFound
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal
from loupe.workspaces.service import connected_accounts


def access_expires_at(connection: Connection) -> datetime | None:
    """A refreshable token lives as long as its refresh token (Google, X and Twitch ones do not expire);
    Meta's access also ends with its data access."""
    refreshable = connection.refresh_token_enc is not None
    horizon = connection.refresh_expires_at if refreshable else connection.token_expires_at
    moments = [moment for moment in (horizon, connection.data_access_expires_at) if moment]
    return min(moments) if moments else None


def account_view(grant: Grant, connection: Connection, influencer: Influencer) -> dict[str, Any]:
    return {
        "id": grant.id,
        "influencer_id": influencer.id,
        "influencer_name": influencer.name,
        "influencer_email": influencer.email,
        "invite_id": grant.invite_id,
        "platform": connection.platform,
        "platform_user_id": connection.platform_user_id,
        "username": connection.username,
        "display_name": connection.display_name,
        "status": grant.status,
        "connected_at": grant.connected_at,
        "access_expires_at": access_expires_at(connection),
        "data_access_expires_at": connection.data_access_expires_at,
        "last_refreshed_at": connection.last_refreshed_at,
        "disconnected_at": grant.disconnected_at,
        "created_at": grant.created_at,
    }


class ConnectionService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.grants = GrantRepository(session, principal.workspace_id)

    async def list(
        self, params: PageParams, platform: str | None, status: ConnectionStatus | None, q: str | None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        rows, cursor = await self.grants.views(
            params, GrantFilters(platform=platform, status=status.value if status else None, q=q)
        )
        return [account_view(row.grant, row.connection, row.influencer) for row in rows], cursor

    async def get(self, grant_id: uuid.UUID) -> dict[str, Any]:
        row = await self.grants.view(grant_id)
        if row is None:
            raise NotFound(f"Connected account {grant_id} was not found.")
        return account_view(*row)

    async def failures(
        self, params: PageParams, invite_id: uuid.UUID | None, platform: str | None
    ) -> tuple[builtins.list[ConnectionFailure], str | None]:
        return await self.grants.failures(params, invite_id, platform)


async def grants_of(session: AsyncSession, connection_ids: builtins.list[uuid.UUID]) -> builtins.list[Grant]:
    """Every workspace's grant of these connections (jobs acting for the account, not for a workspace)."""
    return await ConnectionRepository(session).grants_of(connection_ids)


@authenticated_influencers.answer_with
async def _authenticated(workspace_id: uuid.UUID) -> Any:
    return GrantRepository.authenticated_influencers(workspace_id)


@connected_accounts.answer_with
async def _count_connected(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    return await GrantRepository(session, workspace_id).count_active()
