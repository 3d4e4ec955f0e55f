"""Reading what Loupe emailed (the outbox rows), and signing up as a person would."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from loupe.kit.context import ProcessContext
from loupe.kit.jobs import QUEUE_NAME
from loupe.kit.outbox import OutboxMessage
from loupe.team.jobs import SIGNUP_JOB, finish_signup

PASSWORD = "a long enough secret phrase"


async def emails_to(db: ProcessContext, to: str) -> list[dict[str, str]]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at))
        return [m.payload for m in rows if m.payload["to"] == to]


async def token_sent_to(db: ProcessContext, to: str) -> str:
    """The token of the last link emailed to `to`."""
    sent = await emails_to(db, to)
    assert sent, f"nothing was emailed to {to}"
    found = re.search(r"token=([\w-]+)", sent[-1]["text"])
    assert found, sent[-1]["text"]
    return found.group(1)


async def finish_signups(db: ProcessContext) -> list[str]:
    """Runs the queued sign-ups as the worker would (then takes them off the queue): their emails, in order."""
    done = []
    for job in sorted(await db.arq.queued_jobs(queue_name=QUEUE_NAME), key=lambda job: job.score or 0):
        if job.function == SIGNUP_JOB:
            await finish_signup({"process": db}, **job.kwargs)
            await db.arq.zrem(QUEUE_NAME, job.job_id or "")
            done.append(job.kwargs["email"])
    return done


async def sign_up(client: httpx.AsyncClient, db: ProcessContext, email: str, name: str = "Grace") -> dict[str, str]:
    """Signs up, confirms the email with the emailed token, signs in: the login answer."""
    answer = await client.post("/v1/auth/signup", json={"name": name, "email": email, "password": PASSWORD})
    assert answer.status_code == 202, answer.text
    assert await finish_signups(db) == [email]
    verified = await client.post("/v1/auth/verify-email", json={"token": await token_sent_to(db, email)})
    assert verified.status_code == 200, verified.text
    login = await client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
