"""Invite rules: one invite per email in a workspace, each tied to a CRM influencer, each email sent through
the transactional outbox (so nothing goes out for a rolled-back request), resends at most every 10 minutes.

Bulk files are validated whole before anything is written, then written in a few statements: one for the
influencers that do not exist yet, one for the invites, one for their emails.
"""

from __future__ import annotations

import builtins
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from loupe.influencers.service import InfluencerService
from loupe.invites import csvfile
from loupe.invites.models import DUPLICATE_EMAIL, Invite, InviteStatus, InviteTemplate
from loupe.invites.repository import InviteRepository, find_by_token
from loupe.invites.schemas import InviteCreate, InviteTemplatePreviewRequest, InviteTemplateUpdate
from loupe.invites.tags import DEFAULT_BODY, DEFAULT_SUBJECT, INVITE_TAGS, SAMPLE_EMAIL, SAMPLE_NAME
from loupe.kit.db import utcnow
from loupe.kit.errors import Conflict, FieldError, NotFound, TooManyRequests, ValidationFailed
from loupe.kit.jobs import JobBuffer
from loupe.kit.outbox import Outbox, OutboxKind, email_payload
from loupe.kit.pagination import PageParams
from loupe.messaging.templates import Resolver, TemplateError
from loupe.workspaces.auth import Principal
from loupe.workspaces.service import WorkspaceService

RESEND_INTERVAL = timedelta(minutes=10)


def invite_link(token: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/connect/{token}"


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits: unguessable, and unique in practice (and by index)


def _wait_before_resend(invite: Invite) -> int:
    """Seconds until the invite may be emailed again (0: now)."""
    if invite.last_sent_at is None:
        return 0
    left = invite.last_sent_at + RESEND_INTERVAL - utcnow()
    return int(left.total_seconds()) + 1 if left.total_seconds() > 0 else 0


def _refuse(exc: TemplateError, field: str) -> ValidationFailed:
    errors = [FieldError(field=field, reason=problem) for problem in exc.problems]
    return ValidationFailed("The template cannot be used; see `errors`.", errors=errors)


async def invite_by_token(session: AsyncSession, token: str) -> Invite | None:
    return await find_by_token(session, token) if token else None


class InviteService:
    def __init__(self, session: AsyncSession, principal: Principal, base_url: str, jobs: JobBuffer | None = None):
        self.session = session
        self.principal = principal
        self.base_url = base_url
        self.invites = InviteRepository(session, principal.workspace_id)
        self.outbox = Outbox(session, jobs)

    # -- templates -------------------------------------------------------------------------------------
    async def template(self) -> tuple[str, str, InviteTemplate | None]:
        saved = await self.invites.template()
        return (saved.subject, saved.body, saved) if saved else (DEFAULT_SUBJECT, DEFAULT_BODY, None)

    async def save_template(self, data: InviteTemplateUpdate) -> InviteTemplate:
        errors: list[FieldError] = []
        for field, value in (("body.subject", data.subject), ("body.body", data.body)):
            try:
                INVITE_TAGS.parse(value)
            except TemplateError as exc:
                errors.extend(FieldError(field=field, reason=problem) for problem in exc.problems)
        if errors:
            raise ValidationFailed("The template cannot be used; see `errors`.", errors=errors)
        return await self.invites.save_template(data.subject, data.body)

    async def _workspace_name(self) -> str:
        workspace = await WorkspaceService(self.session).get_workspace(self.principal.workspace_id)
        return workspace.name

    @staticmethod
    async def _render(subject: str, body: str, name: str, link: str, workspace: str) -> tuple[str, str]:
        async def creator_name(_: str | None) -> str:
            return name

        async def invite_link_(_: str | None) -> str:
            return link

        async def workspace_name(_: str | None) -> str:
            return workspace

        resolvers: dict[str, Resolver] = {
            "creator_name": creator_name,
            "invite_link": invite_link_,
            "workspace_name": workspace_name,
        }
        return await INVITE_TAGS.render(subject, resolvers), await INVITE_TAGS.render(body, resolvers)

    async def preview(self, data: InviteTemplatePreviewRequest) -> tuple[str, str, str]:
        subject, body, _ = await self.template()
        subject, body = data.subject or subject, data.body or body
        if data.invite_id is not None:
            invite = await self.get(data.invite_id)
            name, email, link = invite.name, invite.email, invite_link(invite.token, self.base_url)
        else:
            name, email, link = SAMPLE_NAME, SAMPLE_EMAIL, invite_link("sample-token", self.base_url)
        try:
            rendered_subject, rendered_body = await self._render(
                subject, body, name, link, await self._workspace_name()
            )
        except TemplateError as exc:
            raise _refuse(exc, "body.template") from exc
        return email, rendered_subject, rendered_body

    # -- invites ---------------------------------------------------------------------------------------
    async def _queue_emails(self, invites: Sequence[dict[str, Any]]) -> None:
        subject, body, _ = await self.template()
        workspace = await self._workspace_name()
        payloads = []
        for invite in invites:
            link = invite_link(invite["token"], self.base_url)
            rendered_subject, rendered_body = await self._render(subject, body, invite["name"], link, workspace)
            payloads.append(email_payload(invite["email"], rendered_subject, rendered_body))
        await self.outbox.add(self.principal.workspace_id, OutboxKind.email, payloads)

    async def _create(self, people: Sequence[tuple[str, str]]) -> builtins.list[uuid.UUID]:
        influencers = await InfluencerService(self.session, self.principal).ensure_by_email(people)
        now = utcnow()
        rows = [
            {
                "id": uuid.uuid4(),
                "influencer_id": influencers[email.lower()],
                "name": name,
                "email": email,
                "token": new_token(),
                "status": InviteStatus.invited.value,
                "last_sent_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for name, email in people
        ]
        # A concurrent request inviting the same email loses on the unique index: 409 with DUPLICATE_EMAIL.
        await self.invites.insert_many(rows)
        await self._queue_emails(rows)
        return [uuid.UUID(str(row["id"])) for row in rows]

    async def create(self, data: InviteCreate) -> Invite:
        email = str(data.email)
        if await self.invites.taken_emails([email.lower()]):
            raise Conflict(DUPLICATE_EMAIL)
        [invite_id] = await self._create([(data.name, email)])
        return await self.get(invite_id)

    async def create_from_csv(self, data: bytes) -> int:
        """All or nothing: every row is checked (and every problem reported) before anything is written."""
        rows = csvfile.parse(data)
        taken = await self.invites.taken_emails(row.email.lower() for row in rows)
        if taken:
            errors = [
                FieldError(field=f"file.line.{row.line}.email", reason=DUPLICATE_EMAIL)
                for row in rows
                if row.email.lower() in taken
            ]
            raise ValidationFailed(
                f"{len(errors)} problem(s) in the file; nothing was created. See `errors`.", errors=errors
            )
        await self._create([(row.name, row.email) for row in rows])
        return len(rows)

    async def get(self, invite_id: uuid.UUID, *, for_update: bool = False) -> Invite:
        invite = await self.invites.get(invite_id, for_update=for_update)
        if invite is None:
            raise NotFound(f"Invite {invite_id} was not found.")
        return invite

    async def list(
        self, params: PageParams, status: InviteStatus | None, q: str | None
    ) -> tuple[builtins.list[Invite], str | None]:
        return await self.invites.list(params, status, q)

    async def resend(self, invite_id: uuid.UUID) -> Invite:
        invite = await self.get(invite_id, for_update=True)
        wait = _wait_before_resend(invite)
        if wait:
            raise TooManyRequests(
                f"This invite was sent less than 10 minutes ago; it can be sent again in {wait} seconds.",
                headers={"Retry-After": str(wait)},
            )
        await self._send_again(invite)
        return invite

    async def _send_again(self, invite: Invite) -> None:
        invite.last_sent_at = utcnow()
        await self.session.flush()
        await self._queue_emails([{"name": invite.name, "email": invite.email, "token": invite.token}])

    async def set_statuses(self, statuses: dict[uuid.UUID, InviteStatus]) -> None:
        """Statuses follow the invite's connections (loupe.connections decides them)."""
        await self.invites.set_statuses({k: v.value for k, v in statuses.items()})

    async def by_email(self, email: str) -> Invite | None:
        return await self.invites.by_email(email)

    async def resend_if_allowed(self, invite: Invite) -> bool:
        """The workspace connect link, given an email already invited: the link goes to that address (never to
        the person typing it), at most every 10 minutes."""
        if _wait_before_resend(invite):
            return False
        await self._send_again(invite)
        return True
