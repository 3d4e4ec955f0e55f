"""The transactional outbox: messages to send (email today, partner webhooks later) written as rows in the
transaction of the change that causes them, and delivered by the `deliver_outbox` worker job.

Guarantees:

- **Nothing is sent for a rolled-back change.** `Outbox.add` inserts rows in the caller's transaction and
  buffers a `deliver_outbox` job, which the transaction's owner enqueues only after its commit (a cron run
  every few seconds catches anything whose enqueue was lost).
- **One row is never sent twice by two deliverers.** A deliverer claims due rows with
  `FOR UPDATE SKIP LOCKED`, sends them, and marks them `sent` (or schedules the retry) *in the same
  transaction as the claim*. The row lock is held from claim to commit, so a concurrent deliverer skips the
  row, and once the lock is released the row is no longer `pending`. Rows are claimed a few at a time so
  locks are held briefly.
- **Delivery is at least once, not exactly once.** A deliverer that dies after the SMTP server accepted a
  message but before its commit leaves the row `pending`, and it is sent again later. (No outbox can do
  better against an SMTP server, which has no idempotency key.)
- **Failures back off exponentially** (`RETRY_BASE_SECONDS * 2**(attempts-1)`, capped), with the error kept
  in `last_error`; after `MAX_ATTEMPTS` the row is `failed` and left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum
from typing import Any

import aiosmtplib
import structlog
from sqlalchemy import ForeignKey, Index, Integer, Text, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from loupe.config import SmtpSettings
from loupe.kit.db import Base, IdMixin, utcnow
from loupe.kit.jobs import JobBuffer

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 6 * 3600.0
CLAIM_BATCH = 20
JOB = "deliver_outbox"


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class OutboxKind(StrEnum):
    email = "email"


class OutboxMessage(IdMixin, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        # What deliverers scan: due pending rows, oldest first.
        Index("ix_outbox_messages_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    workspace_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default=OutboxStatus.pending.value, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())


def email_payload(to: str, subject: str, text_body: str) -> dict[str, Any]:
    return {"to": to, "subject": subject, "text": text_body}


class Outbox:
    """Writes messages in the caller's transaction; delivery is requested after its commit."""

    def __init__(self, session: AsyncSession, jobs: JobBuffer | None) -> None:
        self.session = session
        self.jobs = jobs

    async def add(self, workspace_id: uuid.UUID | None, kind: OutboxKind, payloads: Sequence[dict[str, Any]]) -> None:
        """One INSERT for all of them (executemany), however many."""
        if not payloads:
            return
        rows = [
            {"id": uuid.uuid4(), "workspace_id": workspace_id, "kind": kind.value, "payload": payload}
            for payload in payloads
        ]
        await self.session.execute(pg_insert(OutboxMessage), rows)
        if self.jobs is not None and not any(job.function == JOB for job in self.jobs.pending):
            self.jobs.enqueue(JOB, nudge=True)  # the cron run every few seconds sends them anyway


# Sends one message; raises on failure. Replaceable in tests.
Sender = Callable[[OutboxMessage], Awaitable[None]]


def smtp_sender(smtp: SmtpSettings) -> Sender:
    async def send(message: OutboxMessage) -> None:
        if message.kind != OutboxKind.email.value:
            raise ValueError(f"no sender for outbox kind {message.kind!r}")
        email = EmailMessage()
        email["From"] = smtp.from_
        email["To"] = message.payload["to"]
        email["Subject"] = message.payload["subject"]
        email["Message-ID"] = f"<{message.id}@loupe>"
        email.set_content(message.payload["text"])
        await aiosmtplib.send(
            email,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password.get_secret_value() if smtp.password else None,
            start_tls=smtp.starttls,
            timeout=smtp.timeout_seconds,
        )

    return send


def retry_delay(attempts: int) -> timedelta:
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession], send: Sender, *, batch: int = CLAIM_BATCH
) -> dict[str, int]:
    """Delivers every due pending message; returns counts. Safe to run anywhere, any number of times."""
    counts = {"sent": 0, "retried": 0, "failed": 0}
    while True:
        async with sessionmaker() as session, session.begin():
            now = utcnow()
            claimed = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status == OutboxStatus.pending.value, OutboxMessage.next_attempt_at <= now)
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            for message in claimed:
                try:
                    await send(message)
                except Exception as exc:
                    message.attempts += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if message.attempts >= MAX_ATTEMPTS:
                        message.status = OutboxStatus.failed.value
                        counts["failed"] += 1
                    else:
                        message.next_attempt_at = utcnow() + retry_delay(message.attempts)
                        counts["retried"] += 1
                    log.warning("outbox_send_failed", id=str(message.id), attempts=message.attempts, error=str(exc))
                else:
                    message.attempts += 1
                    message.status = OutboxStatus.sent.value
                    message.sent_at = utcnow()
                    message.last_error = None
                    counts["sent"] += 1
        if len(claimed) < batch:
            return counts


async def deliver_outbox(ctx: dict[str, Any]) -> dict[str, int]:
    """Worker job (every few seconds, and after each commit that added messages): sends due messages."""
    process = ctx["process"]
    sender: Sender = ctx.get("outbox_sender") or smtp_sender(process.settings.smtp)
    return await deliver_due(process.sessionmaker, sender)
