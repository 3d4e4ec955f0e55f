from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from loupe.audit.schemas import AuditEventPage
from loupe.audit.service import AuditService
from loupe.kit.deps import SessionDep
from loupe.kit.errors import problem_responses
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import AdminPrincipal

router = APIRouter(tags=["audit log"])


@router.get(
    "/audit-events", operation_id="audit_events_list", summary="The audit log", responses=problem_responses(422)
)
async def list_audit_events(
    principal: AdminPrincipal,
    session: SessionDep,
    page: PageParamsDep,
    actor_id: Annotated[uuid.UUID | None, Query(description="Only the writes of this person or key.")] = None,
    resource_type: Annotated[
        str | None, Query(max_length=100, description="Only writes of this resource type, e.g. `links`.")
    ] = None,
    since: Annotated[datetime | None, Query(alias="from", description="Writes at or after this time.")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="Writes before this time.")] = None,
) -> AuditEventPage:
    """Every write made in the workspace by a person or an API key, newest first: who, which operation, on
    which resource, when, and from which address. For admins (and keys with the `admin` scope)."""
    items, cursor = await AuditService(session, principal).list(page, actor_id, resource_type, since, until)
    return AuditEventPage.of(items, cursor)
