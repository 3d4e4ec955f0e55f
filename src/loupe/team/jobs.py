"""Sign-ups and password-reset emails are looked up and written by the worker, not the request: the request only
queues the email address (and a sign-up's password hash), the same work whether or not it has an account, so
neither its answer nor its time tells."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from loupe.audit.service import record_sign_in_event
from loupe.kit.context import ProcessContext
from loupe.kit.db import utcnow
from loupe.kit.jobs import JobBuffer
from loupe.kit.outbox import Outbox
from loupe.people.service import DEAD_CREDENTIAL_RETENTION, PeopleService, purge_dead_credentials
from loupe.people.tokens import signing_keys
from loupe.team.repository import InvitationLinkRepository

JOB = "send_password_reset"
SIGNUP_JOB = "finish_signup"
FAILED_SIGN_IN_JOB = "record_failed_sign_in"


@asynccontextmanager
async def _people(process: ProcessContext) -> AsyncIterator[PeopleService]:
    """People's rules in one transaction of the worker's; the emails they write go out once it committed."""
    jobs = JobBuffer()
    app_url = process.settings.app_base_url or process.settings.public_base_url
    async with process.sessionmaker() as session, session.begin():
        yield PeopleService(session, signing_keys(process.vault.keys), Outbox(session, jobs), app_url)
    await jobs.flush(process.arq)


async def send_password_reset(ctx: dict[str, Any], email: str) -> None:
    async with _people(ctx["process"]) as people:
        await people.request_reset(email)


async def finish_signup(ctx: dict[str, Any], name: str, email: str, password_hash: str) -> bool:
    """Makes the account (or tells its owner it exists); True when it was made. Two sign-ups of one new
    email racing: the second's insert breaks the unique index, and its second try finds the first's account."""
    try:
        async with _people(ctx["process"]) as people:
            return await people.finish_signup(name, email, password_hash)
    except IntegrityError:
        async with _people(ctx["process"]) as people:
            return await people.finish_signup(name, email, password_hash)


async def purge_dead_credentials_job(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker cron: expired, spent or revoked sign-in sessions, emailed links and invitations are deleted a
    week after they stopped working, so the tables hold what can still be used, plus a short history."""
    process: ProcessContext = ctx["process"]
    async with process.sessionmaker() as session, session.begin():
        purged = await purge_dead_credentials(session)
        purged["invitations"] = await InvitationLinkRepository(session).purge_dead(utcnow() - DEAD_CREDENTIAL_RETENTION)
    return purged


async def record_failed_sign_in(ctx: dict[str, Any], email: str, address: str, path: str, at: str) -> int:
    """A failed sign-in, in the audit log of each workspace of the account tried (none for an unknown email):
    done here, not in the request, so a known and an unknown email cost the request the same."""
    process: ProcessContext = ctx["process"]
    async with process.sessionmaker() as session, session.begin():
        people = PeopleService(session)
        person = await people.by_email(email)
        if person is None:
            return 0
        workspaces = list(await people.workspaces_of(person.id))
        for workspace_id in workspaces:
            await record_sign_in_event(
                session, "auth_login_failed", path, workspace_id, person.id, address, at=datetime.fromisoformat(at)
            )
    return len(workspaces)
