"""Authorisations that are about to lapse: the creator is emailed 7 days and 1 day before, with the link
to reconnect; once lapsed, the connection is `expired` and its invites need the creator again.

When access ends is `loupe.connections.service.access_expires_at` (a refreshable token lives as long as
its refresh token; Meta's access also ends with its 90-day data access).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from loupe.connections.models import Connection, ConnectionStatus
from loupe.connections.removal import Removal
from loupe.connections.service import access_expires_at, grants_of
from loupe.connections.texts import PLATFORM_TEXTS
from loupe.invites.service import InviteService, invite_link
from loupe.kit.context import ProcessContext
from loupe.kit.jobs import JobBuffer
from loupe.kit.outbox import Outbox, OutboxKind, email_payload
from loupe.workspaces.auth import acting_for
from loupe.workspaces.service import WorkspaceService

log = structlog.get_logger(__name__)
AHEAD = {"7d": timedelta(days=7), "1d": timedelta(days=1)}


async def _candidates(session: AsyncSession, horizon: datetime) -> list[Connection]:
    stmt = select(Connection).where(
        Connection.status == ConnectionStatus.active.value,
        or_(
            Connection.token_expires_at <= horizon,
            Connection.refresh_expires_at <= horizon,
            Connection.data_access_expires_at <= horizon,
        ),
    )
    return list(await session.scalars(stmt))


def due_reminder(connection: Connection, now: datetime) -> tuple[str, datetime] | None:
    """The reminder to send now, if any: the nearest one not sent yet for this expiry."""
    ends = access_expires_at(connection)
    if ends is None or ends <= now:
        return None
    sent = connection.reminders or {}
    for kind in ("1d", "7d"):
        if ends - now <= AHEAD[kind]:
            return None if sent.get(kind) == ends.isoformat() else (kind, ends)
    return None


async def remind_expiring(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker cron (hourly)."""
    process: ProcessContext = ctx["process"]
    now = process.clock.now()
    jobs = JobBuffer()
    reminded = lapsed = 0
    async with process.sessionmaker() as session, session.begin():
        for connection in await _candidates(session, now + AHEAD["7d"]):
            ends = access_expires_at(connection)
            if ends is not None and ends <= now:
                await Removal(session).lapse([connection.id], ConnectionStatus.expired, "The authorisation lapsed.")
                lapsed += 1
                continue
            due = due_reminder(connection, now)
            if due is None:
                continue
            kind, ends = due
            await _email_creators(session, process, jobs, connection, ends)
            connection.reminders = {**(connection.reminders or {}), kind: ends.isoformat()}
            reminded += 1
    await jobs.flush(process.arq)
    log.info("reminders.run", reminded=reminded, lapsed=lapsed)
    return {"reminded": reminded, "lapsed": lapsed}


async def _email_creators(
    session: AsyncSession, process: ProcessContext, jobs: JobBuffer, connection: Connection, ends: datetime
) -> None:
    """One email per workspace the account is granted to: each brand's own invite link reconnects it."""
    base = process.settings.public_base_url
    platform = PLATFORM_TEXTS[connection.platform].name
    handle = connection.username or connection.display_name or connection.platform_user_id
    for grant in await grants_of(session, [connection.id]):
        if grant.status != ConnectionStatus.active.value:
            continue
        invite = await InviteService(session, acting_for(grant.workspace_id), base).get(grant.invite_id)
        workspace = await WorkspaceService(session).get_workspace(grant.workspace_id)
        subject = f"Your {platform} connection with {workspace.name} ends on {ends:%d %B %Y}"
        body = (
            f"Hi {invite.name},\n\n{workspace.name} can read the statistics of your {platform} account {handle} "
            f"until {ends:%d %B %Y at %H:%M UTC}. To keep sharing them, reconnect it in one minute:\n\n"
            f"{invite_link(invite.token, base)}\n\nIf you do nothing, the connection simply ends. "
            "You can also disconnect it from that page at any time.\n"
        )
        await Outbox(session, jobs).add(
            grant.workspace_id, OutboxKind.email, [email_payload(invite.email, subject, body)]
        )
