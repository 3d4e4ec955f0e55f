"""The transactional outbox: rows only on commit, delivered once over real SMTP (aiosmtpd), retried with
backoff while SMTP is down, and never sent twice by two concurrent deliverers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from loupe.config import SmtpSettings
from loupe.kit.context import ProcessContext
from loupe.kit.embedded import free_port
from loupe.kit.jobs import JobBuffer
from loupe.kit.mailsink import MailSink, create_web_app
from loupe.kit.outbox import (
    MAX_ATTEMPTS,
    Outbox,
    OutboxKind,
    OutboxMessage,
    deliver_due,
    deliver_outbox,
    email_payload,
    retry_delay,
    smtp_sender,
)
from tests.conftest import Tenant


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink("127.0.0.1", free_port()) as sink:
        yield sink


def smtp_of(sink: MailSink) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=sink.controller.port, timeout_seconds=5)


async def messages(db: ProcessContext) -> list[OutboxMessage]:
    async with db.sessionmaker() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


async def add(db: ProcessContext, count: int, jobs: JobBuffer | None = None) -> None:
    async with db.sessionmaker() as session, session.begin():
        payloads = [email_payload(f"p{i}@example.com", f"Subject {i}", f"Body {i}") for i in range(count)]
        await Outbox(session, jobs).add(None, OutboxKind.email, payloads)


async def test_rows_are_written_only_when_the_transaction_commits(db: ProcessContext) -> None:
    async with db.sessionmaker() as session:
        await Outbox(session, JobBuffer()).add(None, OutboxKind.email, [email_payload("a@example.com", "S", "B")])
        await session.rollback()  # (its owner discards the buffered job too)
    assert await messages(db) == []
    jobs = JobBuffer()
    await add(db, 2, jobs)
    await add(db, 1, jobs)
    assert len(await messages(db)) == 3
    assert [job.function for job in jobs.pending] == ["deliver_outbox"]  # one delivery run asked per buffer


async def test_a_failed_request_queues_no_email(client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext) -> None:
    await client.post("/v1/invites", json={"name": "Ada", "email": "ada@example.com"}, headers=tenant.write)
    again = await client.post("/v1/invites", json={"name": "Ada", "email": "ADA@example.com"}, headers=tenant.write)
    assert again.status_code == 409
    assert len(await messages(db)) == 1


async def test_invite_email_is_delivered_once_over_smtp(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext, sink: MailSink
) -> None:
    invite = (
        await client.post("/v1/invites", json={"name": "Ada", "email": "ada@example.com"}, headers=tenant.write)
    ).json()
    ctx: dict[str, Any] = {"process": db, "outbox_sender": smtp_sender(smtp_of(sink))}
    assert await deliver_outbox(ctx) == {"sent": 1, "retried": 0, "failed": 0}
    assert await deliver_outbox(ctx) == {"sent": 0, "retried": 0, "failed": 0}
    [mail] = sink.store.newest_first()
    assert mail.recipients == ["ada@example.com"] and "Acme" in mail.subject
    assert invite["link"] in mail.body
    [row] = await messages(db)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1

    # The sink's page lists it.
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_web_app(sink.store)), base_url="http://sink")
    async with web:
        page = await web.get("/")
        assert page.status_code == 200 and mail.subject in page.text and "ada@example.com" in page.text


async def test_smtp_down_retries_with_backoff_then_fails(db: ProcessContext, sink: MailSink) -> None:
    await add(db, 1)
    down = SmtpSettings(host="127.0.0.1", port=free_port(), timeout_seconds=2)  # nothing listens there
    assert await deliver_due(db.sessionmaker, smtp_sender(down)) == {"sent": 0, "retried": 1, "failed": 0}
    [row] = await messages(db)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert timedelta(seconds=25) < row.next_attempt_at - row.created_at < timedelta(seconds=60)
    # Not due yet: nothing is tried.
    assert await deliver_due(db.sessionmaker, smtp_sender(down)) == {"sent": 0, "retried": 0, "failed": 0}
    assert retry_delay(1) < retry_delay(2) < retry_delay(3) and retry_delay(2) == 2 * retry_delay(1)

    # Due again, and SMTP is back: sent.
    async with db.sessionmaker() as session, session.begin():
        await session.execute(update(OutboxMessage).values(next_attempt_at=row.created_at))
    assert await deliver_due(db.sessionmaker, smtp_sender(smtp_of(sink))) == {"sent": 1, "retried": 0, "failed": 0}
    assert len(sink.store.newest_first()) == 1

    # A message that keeps failing is `failed` after MAX_ATTEMPTS and left alone.
    await add(db, 1)
    for _ in range(MAX_ATTEMPTS):
        async with db.sessionmaker() as session, session.begin():
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.status == "pending").values(next_attempt_at=row.created_at)
            )
        await deliver_due(db.sessionmaker, smtp_sender(down))
    failed = [m for m in await messages(db) if m.status == "failed"]
    assert len(failed) == 1 and failed[0].attempts == MAX_ATTEMPTS


async def test_two_concurrent_deliverers_never_send_a_row_twice(db: ProcessContext, sink: MailSink) -> None:
    await add(db, 60)
    real = smtp_sender(smtp_of(sink))
    sent: list[uuid.UUID] = []

    async def slow(message: OutboxMessage) -> None:
        sent.append(message.id)
        await asyncio.sleep(0.005)  # let the other deliverer run meanwhile
        await real(message)

    results = await asyncio.gather(*(deliver_due(db.sessionmaker, slow, batch=7) for _ in range(3)))
    assert sum(r["sent"] for r in results) == 60
    assert len(sent) == len(set(sent)) == 60
    assert sorted(m.to for m in sink.store.newest_first()) == sorted(f"p{i}@example.com" for i in range(60))
    assert all(m.status == "sent" for m in await messages(db))


async def test_the_request_asks_for_a_delivery_run_after_its_commit(
    client: httpx.AsyncClient, tenant: Tenant, db: ProcessContext
) -> None:
    await client.post("/v1/invites", json={"name": "Ada", "email": "ada@example.com"}, headers=tenant.write)
    queued = await db.arq.queued_jobs(queue_name="loupe:queue")
    assert [job.function for job in queued] == ["deliver_outbox"]
