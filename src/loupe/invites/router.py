from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import Response

from loupe.invites import csvfile
from loupe.invites.models import Invite, InviteStatus
from loupe.invites.schemas import (
    BulkInviteResult,
    InviteCreate,
    InvitePage,
    InviteRead,
    InviteTemplatePreview,
    InviteTemplatePreviewRequest,
    InviteTemplateRead,
    InviteTemplateUpdate,
    MergeTagRead,
)
from loupe.invites.service import InviteService, invite_link
from loupe.invites.tags import INVITE_TAGS
from loupe.kit.deps import ContextDep, JobsDep, SessionDep
from loupe.kit.errors import PayloadTooLarge, problem_responses
from loupe.kit.middleware import FORM_OVERHEAD, body_limit
from loupe.kit.pagination import PageParamsDep
from loupe.workspaces.auth import AdminPrincipal, ReadPrincipal, WritePrincipal

router = APIRouter(prefix="/invites", tags=["invites"])
template_router = APIRouter(prefix="/invite-template", tags=["invites"])
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "A sample invite file."}
}


def read(invite: Invite, base_url: str) -> InviteRead:
    data = {field: getattr(invite, field) for field in InviteRead.model_fields if hasattr(invite, field)}
    return InviteRead.model_validate({**data, "link": invite_link(invite.token, base_url)})


@router.post(
    "",
    operation_id="invites_create",
    summary="Invite a creator by email",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422),
)
async def create_invite(
    body: InviteCreate, principal: WritePrincipal, session: SessionDep, ctx: ContextDep, jobs: JobsDep
) -> InviteRead:
    """Creates the invite with its personal `link` and queues the invite email (sent once the request has
    committed, through the outbox). The invite belongs to the workspace's influencer with that email
    (case-insensitive), or to a new influencer. An email already invited in the workspace is a 409."""
    service = InviteService(session, principal, ctx.settings.public_base_url, jobs)
    return read(await service.create(body), ctx.settings.public_base_url)


@router.post(
    "/bulk",
    operation_id="invites_bulk_create",
    summary="Invite creators from a CSV file",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 413, 415, 422),
)
@body_limit(lambda _: csvfile.MAX_BYTES + FORM_OVERHEAD)
async def bulk_create_invites(
    file: Annotated[UploadFile, File(description="CSV, UTF-8 (with or without BOM), header `name,email`.")],
    principal: WritePrincipal,
    session: SessionDep,
    ctx: ContextDep,
    jobs: JobsDep,
) -> BulkInviteResult:
    """All or nothing: the whole file is checked first, and any bad row (a missing name or email, a bad
    email, an email twice in the file or already invited) makes a 422 listing every bad row by its line in
    the file (the header is line 1), e.g. `file.line.7.email`, and nothing is created. Otherwise every row
    becomes an invite and its email is queued. At most 2 MB (413); not UTF-8 is a 415."""
    data = await file.read(csvfile.MAX_BYTES + 1)
    if len(data) > csvfile.MAX_BYTES:
        raise PayloadTooLarge(f"The invite file exceeds {csvfile.MAX_BYTES} bytes.")
    service = InviteService(session, principal, ctx.settings.public_base_url, jobs)
    return BulkInviteResult(created=await service.create_from_csv(data))


@router.get(
    "/sample.csv",
    operation_id="invites_sample_csv",
    summary="Download a sample invite file",
    response_class=Response,
    responses=CSV_RESPONSE,
)
async def sample_csv(principal: ReadPrincipal) -> Response:
    """A CSV with the expected header and two rows, to fill in and upload to `POST /v1/invites/bulk`."""
    return Response(
        csvfile.SAMPLE,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="invites-sample.csv"'},
    )


@router.get("", operation_id="invites_list", summary="List invites", responses=problem_responses(422))
async def list_invites(
    principal: ReadPrincipal,
    session: SessionDep,
    ctx: ContextDep,
    page: PageParamsDep,
    status: Annotated[InviteStatus | None, Query(description="Only invites with this status.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Only invites whose name or email contains this.")
    ] = None,
) -> InvitePage:
    """The workspace's invites, newest first."""
    items, cursor = await InviteService(session, principal, ctx.settings.public_base_url).list(
        page, status, q.strip() if q and q.strip() else None
    )
    return InvitePage.of([read(invite, ctx.settings.public_base_url) for invite in items], cursor)


@router.get("/{invite_id}", operation_id="invites_get", summary="Get an invite", responses=problem_responses(404))
async def get_invite(
    invite_id: uuid.UUID, principal: ReadPrincipal, session: SessionDep, ctx: ContextDep
) -> InviteRead:
    """The invite, its status and its link."""
    invite = await InviteService(session, principal, ctx.settings.public_base_url).get(invite_id)
    return read(invite, ctx.settings.public_base_url)


@router.post(
    "/{invite_id}/resend",
    operation_id="invites_resend",
    summary="Send an invite email again",
    responses=problem_responses(404, 429),
)
async def resend_invite(
    invite_id: uuid.UUID, principal: WritePrincipal, session: SessionDep, ctx: ContextDep, jobs: JobsDep
) -> InviteRead:
    """Queues the invite email again, with the current template and the same link. At most once every 10
    minutes per invite: sooner is a 429 whose `Retry-After` says how many seconds to wait."""
    service = InviteService(session, principal, ctx.settings.public_base_url, jobs)
    return read(await service.resend(invite_id), ctx.settings.public_base_url)


def _template_read(subject: str, body: str, saved: Any) -> InviteTemplateRead:
    return InviteTemplateRead(
        subject=subject,
        body=body,
        is_default=saved is None,
        tags=[MergeTagRead(tag=tag.syntax, description=tag.description) for tag in INVITE_TAGS.tags],
        updated_at=saved.updated_at if saved is not None else None,
    )


@template_router.get("", operation_id="invite_template_get", summary="Get the invite email template")
async def get_template(principal: ReadPrincipal, session: SessionDep, ctx: ContextDep) -> InviteTemplateRead:
    """The workspace's invite email (subject and body with merge tags), or the default one
    (`is_default: true`) until the workspace saves its own."""
    return _template_read(*await InviteService(session, principal, ctx.settings.public_base_url).template())


@template_router.put(
    "",
    operation_id="invite_template_update",
    summary="Save the invite email template",
    responses=problem_responses(422),
)
async def update_template(
    body: InviteTemplateUpdate, principal: AdminPrincipal, session: SessionDep, ctx: ContextDep
) -> InviteTemplateRead:
    """Replaces the subject and body. Unknown or malformed merge tags are refused (422), each one named;
    the known ones are {{creator_name}}, {{invite_link}} and {{workspace_name}}. Emails queued from now on
    use it."""
    saved = await InviteService(session, principal, ctx.settings.public_base_url).save_template(body)
    return _template_read(saved.subject, saved.body, saved)


@template_router.post(
    "/preview",
    operation_id="invite_template_preview",
    summary="Render the invite email",
    responses=problem_responses(404, 422),
)
async def preview_template(
    body: InviteTemplatePreviewRequest, principal: WritePrincipal, session: SessionDep, ctx: ContextDep
) -> InviteTemplatePreview:
    """Renders the saved template (or the draft `subject`/`body` given) for an invite, or with sample values
    without `invite_id`. Sends nothing (a POST with the `write` scope, like the other template routes)."""
    to, subject, rendered = await InviteService(session, principal, ctx.settings.public_base_url).preview(body)
    return InviteTemplatePreview(to=to, subject=subject, body=rendered)
