"""Recording: each successful write of a `/v1` operation (its declared access dependency calls `write_done`
after the endpoint returned, in the same transaction), named by its operation id.

The resource is the last path parameter (`/v1/links/{link_id}` → that link), or, for a create, the first row
the request inserted; its type is the operation id without its verb (`links_update` → `links`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from loupe.audit.models import AuditEvent
from loupe.audit.repository import AuditRepository
from loupe.kit.pagination import PageParams
from loupe.workspaces.auth import Principal, write_done

_INSERTED = "audit_first_inserted_id"


@event.listens_for(Session, "pending_to_persistent")
def _remember_insert(session: Session, instance: Any) -> None:
    """The id of the first row a request inserted (what a create's audit event names); only the first is
    kept, so a session inserting many rows keeps one string."""
    ident = getattr(instance, "id", None)
    if ident is not None and not isinstance(instance, AuditEvent):
        session.info.setdefault(_INSERTED, str(ident))


def resource_of(request: Request, operation_id: str, inserted: str | None) -> tuple[str, str | None]:
    verb_at = operation_id.rfind("_")
    resource_type = operation_id[:verb_at] if verb_at > 0 else operation_id
    path_params = list(request.path_params.values())
    if path_params:
        return resource_type, str(path_params[-1])
    return resource_type, inserted


@write_done.attach
async def record(session: AsyncSession, request: Request, principal: Principal) -> None:
    route = request.scope.get("route")
    operation_id = getattr(route, "operation_id", None) or request.url.path
    inserted: str | None = session.sync_session.info.pop(_INSERTED, None)
    resource_type, resource_id = resource_of(request, operation_id, inserted)
    actor_type, actor_id = ("person", principal.person_id) if principal.person_id else ("api_key", principal.api_key_id)
    await AuditRepository(session, principal.workspace_id).add(
        AuditEvent(
            actor_type=actor_type,
            actor_id=actor_id or uuid.UUID(int=0),
            action=operation_id,
            method=request.method,
            path=request.url.path[:500],
            resource_type=resource_type,
            resource_id=resource_id,
            address=principal.address[:64],
        )
    )


async def record_sign_in_event(
    session: AsyncSession,
    action: str,
    path: str,
    workspace_id: uuid.UUID,
    person_id: uuid.UUID,
    address: str,
    session_id: uuid.UUID | None = None,
    at: datetime | None = None,
) -> None:
    """A sign-in, a sign-out or a failed sign-in (`auth_login`, `auth_logout`, `auth_login_failed`) in a
    workspace the person belongs to. The actor is the account signed in to (for a failure: the account tried,
    from that address); the resource is the sign-in session (`sessions`), or the person for a failure."""
    resource_type, resource_id = ("sessions", str(session_id)) if session_id else ("people", str(person_id))
    await AuditRepository(session, workspace_id).add(
        AuditEvent(
            actor_type="person",
            actor_id=person_id,
            action=action,
            method="POST",
            path=path[:500],
            resource_type=resource_type,
            resource_id=resource_id,
            address=address[:64],
            **({"created_at": at} if at else {}),
        )
    )


class AuditService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.events = AuditRepository(session, principal.workspace_id)

    async def list(
        self,
        params: PageParams,
        actor_id: uuid.UUID | None,
        resource_type: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> tuple[list[AuditEvent], str | None]:
        return await self.events.list(params, actor_id=actor_id, resource_type=resource_type, since=since, until=until)
