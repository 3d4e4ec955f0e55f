from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Response, status

from loupe.clicks.jobs import flush_buffered_clicks
from loupe.conversions.schemas import ConversionCreate, ConversionRead
from loupe.conversions.service import ConversionService
from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.workspaces.auth import ConversionsPrincipal

router = APIRouter(prefix="/conversions", tags=["conversions"])
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"model": ConversionRead, "description": "Already recorded: the same conversion again."}
}


@router.post(
    "",
    operation_id="conversions_create",
    summary="Record a conversion",
    status_code=status.HTTP_201_CREATED,
    responses=REPLAYED | problem_responses(409, 422),
)
async def record_conversion(
    body: ConversionCreate, principal: ConversionsPrincipal, session: SessionDep, ctx: ContextDep, response: Response
) -> ConversionRead:
    """Server to server: attributes an event (a purchase, a sign-up…) to the click whose `lp_click` id
    your site received. Idempotent on `external_id`: the same payload again answers 200 with the same
    conversion; a different payload with a used `external_id` answers 409. A click that is unknown to
    this workspace, or older than the attribution window (30 days by default), is refused with 422 and
    the reason."""
    service = ConversionService(session, principal, ctx.settings, partial(flush_buffered_clicks, ctx))
    conversion, created = await service.record(body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ConversionRead.model_validate(conversion)
