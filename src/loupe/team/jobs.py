"""Password-reset emails are looked up and written by the worker, not the request: the request only queues
the email address, the same work whether or not it has an account, so neither its answer nor its time tells."""

from __future__ import annotations

from typing import Any

from loupe.kit.context import ProcessContext
from loupe.kit.jobs import JobBuffer
from loupe.kit.outbox import Outbox
from loupe.people.service import PeopleService
from loupe.people.tokens import signing_keys

JOB = "send_password_reset"


async def send_password_reset(ctx: dict[str, Any], email: str) -> None:
    process: ProcessContext = ctx["process"]
    jobs = JobBuffer()
    app_url = process.settings.app_base_url or process.settings.public_base_url
    async with process.sessionmaker() as session, session.begin():
        people = PeopleService(session, signing_keys(process.vault.keys), Outbox(session, jobs), app_url)
        await people.request_reset(email)
    await jobs.flush(process.arq)
