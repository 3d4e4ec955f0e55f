"""An invite's status follows its grants: any active → active; some, none healthy → action_needed."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import ConnectionStatus, Grant
from loupe.connections.repository import GrantRepository
from loupe.invites.models import InviteStatus
from loupe.invites.service import InviteService
from loupe.workspaces.auth import acting_for


async def refresh_invite_statuses(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    invite_ids: Iterable[uuid.UUID],
    *,
    lost: InviteStatus = InviteStatus.action_needed,
) -> None:
    """`lost`: the status of an invite left without any grant (its accounts' data was deleted)."""
    ids = list(dict.fromkeys(invite_ids))
    found = await GrantRepository(session, workspace_id).statuses_of_invites(ids)
    statuses = {}
    for invite_id in ids:
        grants = found.get(invite_id, [])
        if ConnectionStatus.active.value in grants:
            statuses[invite_id] = InviteStatus.active
        else:
            statuses[invite_id] = InviteStatus.action_needed if grants else lost
    service = InviteService(session, acting_for(workspace_id), base_url="")
    await service.set_statuses(statuses)


async def refresh_after(session: AsyncSession, grants: Iterable[Grant]) -> None:
    """The invites of these grants (any workspaces), after their grants changed."""
    by_workspace: dict[uuid.UUID, list[uuid.UUID]] = {}
    for grant in grants:
        by_workspace.setdefault(grant.workspace_id, []).append(grant.invite_id)
    for workspace_id, invite_ids in by_workspace.items():
        await refresh_invite_statuses(session, workspace_id, invite_ids)
