"""Three days of refreshes in seconds: Loupe's clock and the sandbox's move together. And a real burst-mode
worker on the real Redis running what the scheduler queued."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

import httpx
import pytest
from sqlalchemy import func, select

from loupe.accounts.jobs import schedule_refreshes
from loupe.accounts.models import AccountContent, ContentMetricSnapshot, ProfileSnapshot
from loupe.accounts.refresh import refresh_connection
from loupe.config import Settings
from loupe.connections.models import Connection
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from loupe.worker import create_worker
from tests.accounts.test_refresh import connected
from tests.conftest import Tenant
from tests.connections.conftest import BASE, Creator
from tests.live import LiveSandbox, live_sandbox

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@pytest.fixture
def sandbox_server() -> Iterator[LiveSandbox]:
    """A sandbox of this test's own: its clock moves forward only, so it must not be the session's."""
    with live_sandbox(BASE) as server:
        yield server


async def rows(ctx: ProcessContext, model: object) -> int:
    async with ctx.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())  # type: ignore[arg-type]


async def test_three_days_of_refreshes(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    await connected(client, tenant, creator, sandbox, "tiktok")
    job = {"process": connect_ctx, "job_try": 1}
    first_contents = 0
    refreshed_at = []
    for hour in range(73):  # the every-minute scheduler, sampled hourly over three days
        if hour:
            connect_ctx.clock.advance(HOUR)
            sandbox.clock.advance(HOUR.total_seconds())
        queued = await schedule_refreshes(job)
        if not queued["due"]:
            continue
        await connect_ctx.arq.delete("loupe:queue")  # run it here rather than in a worker
        async with connect_ctx.sessionmaker() as session:
            [connection] = (await session.execute(select(Connection))).scalars().all()
        result = await refresh_connection(job, str(connection.id))
        assert "failed" not in result, (hour, result)  # the 2-hour TikTok token was renewed each time
        refreshed_at.append(connect_ctx.clock.now())
        first_contents = first_contents or await rows(connect_ctx, AccountContent)
    gaps = [b - a for a, b in pairwise(refreshed_at)]
    assert len(refreshed_at) in (3, 4) and all(timedelta(hours=12) < gap <= timedelta(hours=37) for gap in gaps)
    assert all(abs(gap - DAY) <= HOUR for gap in gaps[1:])  # after the first, exactly its daily slot
    assert await rows(connect_ctx, ProfileSnapshot) == len({at.date() for at in refreshed_at})  # a point a day
    assert await rows(connect_ctx, AccountContent) >= first_contents  # new videos came in as days passed
    assert await rows(connect_ctx, ContentMetricSnapshot) > first_contents


async def test_burst_worker_runs_the_queued_refresh(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
    connect_settings: Settings,
    database_url: str,
    redis_url: str,
) -> None:
    await connected(client, tenant, creator, sandbox, "twitch")
    assert (await schedule_refreshes({"process": connect_ctx}))["queued"] == 1
    worker = create_worker(connect_settings, database_url, redis_url, burst=True, poll_delay=0.05)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    assert worker.jobs_failed == 0
    async with connect_ctx.sessionmaker() as session:
        connection = (await session.execute(select(Connection))).scalar_one()
    assert connection.last_refreshed_at is not None and connection.last_error is None
    assert await rows(connect_ctx, AccountContent) > 0
