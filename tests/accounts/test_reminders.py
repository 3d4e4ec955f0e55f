"""Reminders 7 days and 1 day before an authorisation lapses, then `expired`; with the clocks moved."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from loupe.accounts.reminders import remind_expiring
from loupe.kit.context import ProcessContext
from loupe.kit.outbox import OutboxMessage
from loupe.sandbox.state import Sandbox
from tests.accounts.test_refresh import connected, connection_of
from tests.conftest import Tenant
from tests.connections.conftest import Creator
from tests.connections.test_connect_flow import accounts_of, status_of


async def reminder_mails(ctx: ProcessContext) -> list[dict[str, str]]:
    async with ctx.sessionmaker() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at))).scalars().all()
    return [row.payload for row in rows if "ends on" in row.payload["subject"]]


async def test_instagram_reminders_then_expiry(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    sent, _ = await connected(client, tenant, creator, sandbox, "instagram")
    connection = await connection_of(connect_ctx)
    ends = min(d for d in (connection.token_expires_at, connection.data_access_expires_at) if d)
    job = {"process": connect_ctx}
    assert await remind_expiring(job) == {"reminded": 0, "lapsed": 0}  # 60 days ahead: nothing yet
    connect_ctx.clock.freeze(ends - timedelta(days=6))
    assert (await remind_expiring(job))["reminded"] == 1
    assert (await remind_expiring(job))["reminded"] == 0  # once per reminder
    [mail] = await reminder_mails(connect_ctx)
    assert mail["to"] == "ada@example.com" and sent["link"] in mail["text"] and "Instagram" in mail["subject"]
    connect_ctx.clock.freeze(ends - timedelta(hours=20))
    assert (await remind_expiring(job))["reminded"] == 1
    assert len(await reminder_mails(connect_ctx)) == 2
    connect_ctx.clock.freeze(ends + timedelta(minutes=1))
    assert await remind_expiring(job) == {"reminded": 0, "lapsed": 1}
    [row] = await accounts_of(client, tenant)
    assert row["status"] == "expired" and await status_of(client, tenant, sent["id"]) == "action_needed"
    # Reconnecting starts a new authorisation: active again, reminders reset.
    await creator.connect(sent["token"], "instagram", sandbox.world.creators[0].accounts["instagram"][0].id)
    assert (await accounts_of(client, tenant))[0]["status"] == "active"
    assert (await connection_of(connect_ctx)).reminders == {}


async def test_refreshable_tokens_without_a_refresh_expiry_are_never_reminded(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    await connected(client, tenant, creator, sandbox, "youtube")  # Google refresh tokens do not expire
    connect_ctx.clock.advance(timedelta(days=400))
    assert await remind_expiring({"process": connect_ctx}) == {"reminded": 0, "lapsed": 0}
