"""The development mail sink: an SMTP server (aiosmtpd) that keeps every mail it receives, in memory, and a
small page listing them, newest first. `loupe mailsink` runs it; `loupe dev` starts it as a child, where
the outbox's default SMTP settings (127.0.0.1:8025) point. Never for production: it relays nothing.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

MAX_KEPT = 1000


@dataclass(frozen=True)
class ReceivedMail:
    received_at: datetime
    sender: str
    recipients: list[str]
    subject: str
    to: str
    body: str

    def as_json(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "from": self.sender,
            "recipients": self.recipients,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
        }


@dataclass
class MailStore:
    mails: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, mail: ReceivedMail) -> None:
        with self.lock:
            self.mails.append(mail)
            del self.mails[:-MAX_KEPT]

    def newest_first(self) -> list[ReceivedMail]:
        with self.lock:
            return list(reversed(self.mails))


class _Handler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        if not isinstance(parsed, EmailMessage):
            return "550 The message could not be parsed"
        part = parsed.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        self.store.add(
            ReceivedMail(
                received_at=datetime.now(UTC),
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                subject=str(parsed.get("Subject", "")),
                to=str(parsed.get("To", "")),
                body=body,
            )
        )
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on `host:port` (its own thread) storing mails in `store`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8025, store: MailStore | None = None) -> None:
        self.store = store or MailStore()
        self.controller = Controller(_Handler(self.store), hostname=host, port=port)

    def start(self) -> MailSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Loupe mail sink</title>
<meta http-equiv="refresh" content="5">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}article{{border:1px solid #ccc;
border-radius:6px;padding:1rem;margin:1rem 0}}pre{{white-space:pre-wrap}}small{{color:#666}}</style></head>
<body><h1>Loupe mail sink</h1><p>{count} mail(s), newest first. Nothing here leaves this machine.</p>
{articles}</body></html>"""
ARTICLE = """<article><h2>{subject}</h2><small>to {to} · from {sender} · {at}</small><pre>{body}</pre></article>"""


def create_web_app(store: MailStore) -> Starlette:
    async def index(request: Request) -> HTMLResponse:
        mails = store.newest_first()
        articles = "".join(
            ARTICLE.format(
                subject=html.escape(mail.subject or "(no subject)"),
                to=html.escape(mail.to or ", ".join(mail.recipients)),
                sender=html.escape(mail.sender),
                at=mail.received_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                body=html.escape(mail.body),
            )
            for mail in mails
        )
        return HTMLResponse(PAGE.format(count=len(mails), articles=articles or "<p>No mail yet.</p>"))

    async def as_json(request: Request) -> JSONResponse:
        return JSONResponse([mail.as_json() for mail in store.newest_first()])

    return Starlette(routes=[Route("/", index), Route("/messages.json", as_json)])
