"""A creator removed our app at the platform (Meta deauthorize, TikTok authorization.removed) or asked it to
delete their data (Meta data deletion). Idempotent: platforms deliver twice."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import Connection, ConnectionStatus, DeletionRequest, Grant
from loupe.connections.repository import ConnectionRepository, DeletionRepository
from loupe.connections.statuses import refresh_after
from loupe.influencers.service import InfluencerService
from loupe.kit.db import utcnow
from loupe.workspaces.auth import acting_for

log = structlog.get_logger(__name__)
META = ("instagram", "facebook")


class Removal:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.connections = ConnectionRepository(session)

    async def _affected(self, platforms: Sequence[str], user_id: str) -> tuple[list[Connection], list[Grant]]:
        connections = await self.connections.by_authorizing_user(platforms, user_id)
        grants = await self.connections.grants_of([c.id for c in connections]) if connections else []
        return connections, grants

    async def revoked(self, platforms: Sequence[str], user_id: str) -> int:
        """The app was removed: the tokens are dead, so they go; brands see `revoked`."""
        connections = await self.connections.by_authorizing_user(platforms, user_id)
        ids = [c.id for c in connections]
        await self.lapse(ids, ConnectionStatus.revoked, "The creator removed the app at the platform.")
        log.info("connect.app_removed", platforms=list(platforms), accounts=len(ids))
        return len(ids)

    async def lapse(self, ids: Sequence[uuid.UUID], status: ConnectionStatus, why: str) -> None:
        """Connections whose authorisation ended (expired or revoked): their tokens go, every grant still
        connected takes the status, and those invites need the creator again."""
        if not ids:
            return
        grants = await self.connections.grants_of(ids)
        await self.connections.set_status(ids, status, wipe_tokens=True, why=why)
        await self.connections.follow_connection(ids, status)
        await refresh_after(self.session, grants)

    async def delete_meta_data(self, user_id: str) -> DeletionRequest:
        """Tokens, the accounts' rows and the CRM profiles they made go; the request keeps a public status."""
        connections, grants = await self._affected(META, user_id)
        for grant in grants:
            connection = next(c for c in connections if c.id == grant.connection_id)
            await InfluencerService(self.session, acting_for(grant.workspace_id)).forget_profile(
                grant.influencer_id, connection.platform, connection.platform_user_id
            )
        await self.connections.delete([c.id for c in connections])  # their grants go by cascade
        await refresh_after(self.session, grants)  # left without grants, those invites need the creator again
        request = DeletionRequest(
            confirmation_code=secrets.token_hex(10),
            platform="meta",
            platform_user_id=user_id,
            status="completed",
            accounts_deleted=len(connections),
            completed_at=utcnow(),
        )
        await DeletionRepository(self.session).add(request)
        log.info("connect.data_deleted", platform="meta", accounts=len(connections))
        return request
