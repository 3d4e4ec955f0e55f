from __future__ import annotations

import uuid

from fastapi import APIRouter

from loupe.kit.deps import ContextDep, SessionDep
from loupe.kit.errors import problem_responses
from loupe.messaging.preview import MessagePreviewService
from loupe.messaging.schemas import MessagePreview, MessagePreviewRequest
from loupe.workspaces.auth import WritePrincipal

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["messages"])


@router.post(
    "/message-preview",
    operation_id="campaigns_message_preview",
    summary="Render a message template for a creator",
    responses=problem_responses(404, 422),
)
async def preview_message(
    campaign_id: uuid.UUID, body: MessagePreviewRequest, principal: WritePrincipal, session: SessionDep, ctx: ContextDep
) -> MessagePreview:
    """Renders the template's merge tags for one creator of the campaign. Unknown or malformed tags, and
    links the creator does not have, are a 422 listing each. A campaign-level link the creator has no copy
    of yet gets its copy now (as when the message is sent), which is why this needs the `write` scope."""
    service = MessagePreviewService(session, principal, ctx.settings.public_base_url)
    return MessagePreview(rendered=await service.render(campaign_id, body.template, body.influencer_id))
