"""The daily refresh of a connected account, run as the worker runs it, against the live sandbox."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq import Retry
from sqlalchemy import func, select

from loupe.accounts.jobs import refresh_job_id, schedule_refreshes
from loupe.accounts.models import (
    AccountAudience,
    AccountContent,
    AccountProfile,
    ContentMetricSnapshot,
    ProfileSnapshot,
)
from loupe.accounts.refresh import next_slot, refresh_connection, slot_of
from loupe.connections.models import Connection
from loupe.kit.context import ProcessContext
from loupe.sandbox.state import Sandbox
from tests.conftest import Tenant
from tests.connections.conftest import Creator, account, invite
from tests.connections.test_connect_flow import accounts_of, status_of


async def connected(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, platform: str, who: int = 0
) -> tuple[dict[str, Any], str]:
    sent = await invite(client, tenant)
    await creator.connect(sent["token"], platform, account(sandbox, platform, creator=who).id)
    return sent, (await accounts_of(client, tenant))[0]["id"]


async def connection_of(ctx: ProcessContext) -> Connection:
    async with ctx.sessionmaker() as session:
        return (await session.execute(select(Connection))).scalar_one()


async def count(ctx: ProcessContext, model: Any) -> int:
    async with ctx.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.mark.parametrize("platform", ["instagram", "facebook", "tiktok", "youtube", "twitter", "twitch"])
async def test_refresh_stores_profile_audience_contents_and_metrics_idempotently(
    client: httpx.AsyncClient,
    tenant: Tenant,
    creator: Creator,
    sandbox: Sandbox,
    connect_ctx: ProcessContext,
    platform: str,
) -> None:
    await connected(client, tenant, creator, sandbox, platform, who=2)
    connection = await connection_of(connect_ctx)
    job = {"process": connect_ctx, "job_try": 1}
    result = await refresh_connection(job, str(connection.id))
    assert "failed" not in result and result["contents"] > 0, result
    rows = {
        m.__name__: await count(connect_ctx, m)
        for m in (AccountProfile, AccountAudience, AccountContent, ProfileSnapshot, ContentMetricSnapshot)
    }
    assert rows["AccountProfile"] == rows["AccountAudience"] == rows["ProfileSnapshot"] == 1
    assert rows["AccountContent"] == result["contents"] and rows["ContentMetricSnapshot"] > 0
    again = await refresh_connection(job, str(connection.id))  # the same day: nothing doubles
    assert "failed" not in again
    assert {
        m.__name__: await count(connect_ctx, m)
        for m in (AccountProfile, AccountAudience, AccountContent, ProfileSnapshot, ContentMetricSnapshot)
    } == rows
    after = await connection_of(connect_ctx)
    assert after.last_refreshed_at is not None and after.last_error is None
    assert after.next_refresh_at is not None and after.next_refresh_at - after.last_refreshed_at >= timedelta(hours=12)


async def test_slots_spread_accounts_over_the_day() -> None:
    hours = [int(slot_of(uuid.uuid4()).total_seconds() // 3600) for _ in range(2400)]
    per_hour = [hours.count(h) for h in range(24)]
    assert min(per_hour) > 60 and max(per_hour) < 140  # 100 expected per hour
    some = uuid.uuid4()
    from datetime import UTC, datetime

    start = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    first = next_slot(some, start)
    assert next_slot(some, first) - first == timedelta(days=1)


async def test_scheduler_enqueues_due_accounts_once(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    await connected(client, tenant, creator, sandbox, "twitch")
    connection = await connection_of(connect_ctx)
    job = {"process": connect_ctx}
    first = await schedule_refreshes(job)
    second = await schedule_refreshes(job)  # still queued: not again
    assert (first["due"], first["queued"]) == (1, 1) and (second["due"], second["queued"]) == (1, 0)
    queued = await connect_ctx.arq.queued_jobs()
    assert [j.job_id for j in queued if j.function == "refresh_connection"] == [refresh_job_id(connection.id)]


async def test_expired_tiktok_token_is_refreshed_with_rotation(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    await connected(client, tenant, creator, sandbox, "tiktok")
    before = await connection_of(connect_ctx)
    connect_ctx.clock.advance(timedelta(hours=3))  # past the 2-hour access token
    result = await refresh_connection({"process": connect_ctx, "job_try": 1}, str(before.id))
    assert "failed" not in result, result
    after = await connection_of(connect_ctx)
    vault = connect_ctx.vault
    assert vault.decrypt(after.refresh_token_enc or "") != vault.decrypt(before.refresh_token_enc or "")
    assert after.token_expires_at and before.token_expires_at and after.token_expires_at > before.token_expires_at


async def test_revoked_token_moves_connection_and_invite(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    sent, _ = await connected(client, tenant, creator, sandbox, "youtube")
    connection = await connection_of(connect_ctx)
    for token in sandbox.tokens.tokens.values():
        if token.account_id == connection.platform_user_id:
            token.revoked = True
    result = await refresh_connection({"process": connect_ctx, "job_try": 1}, str(connection.id))
    assert result["failed"] in ("auth_revoked", "auth_expired")
    [row] = await accounts_of(client, tenant)
    assert row["status"] in ("revoked", "expired")
    assert await status_of(client, tenant, sent["id"]) == "action_needed"
    after = await connection_of(connect_ctx)
    assert after.access_token_enc is None and after.last_error


async def test_rate_limit_retries_after_the_platforms_reset(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    await connected(client, tenant, creator, sandbox, "twitter")
    connection = await connection_of(connect_ctx)
    sandbox.add_fault("twitter", "rate_limited")
    try:
        with pytest.raises(Retry) as retry:
            await refresh_connection({"process": connect_ctx, "job_try": 1}, str(connection.id))
    finally:
        sandbox.faults.faults.clear()
    assert retry.value.defer_score and retry.value.defer_score > 0
    # The last try gives up until the next slot, recording why, and the account stays active.
    sandbox.add_fault("twitter", "rate_limited")
    try:
        result = await refresh_connection({"process": connect_ctx, "job_try": 5}, str(connection.id))
    finally:
        sandbox.faults.faults.clear()
    assert result == {"failed": "rate_limited"}
    after = await connection_of(connect_ctx)
    assert after.status == "active" and after.last_error and after.next_refresh_at


async def test_a_job_the_limiter_cannot_serve_soon_waits_in_the_queue_without_counting_as_a_failure(
    client: httpx.AsyncClient, tenant: Tenant, creator: Creator, sandbox: Sandbox, connect_ctx: ProcessContext
) -> None:
    from loupe.kit.ratelimit import PREFIX, RateLimiter

    await connected(client, tenant, creator, sandbox, "twitch")
    connection = await connection_of(connect_ctx)
    rules = connect_ctx.settings.rate_limits
    limiter = RateLimiter.of(connect_ctx.arq, rules)
    for _ in range(rules.rules["twitch"].limit):  # other workers took this minute's whole Twitch budget
        assert (await limiter.reserve("twitch")).granted
    before = await connect_ctx.arq.zcard(PREFIX + "twitch")
    try:
        for job_try in (1, 5, 9):  # well past MAX_TRIES: deferrals are not failures
            with pytest.raises(Retry) as retry:
                await refresh_connection({"process": connect_ctx, "job_try": job_try}, str(connection.id))
            assert retry.value.defer_score and retry.value.defer_score > 50_000  # until the window has room
        # Nothing was sent and no permit reserved for the deferred job: its slot went to other accounts.
        assert await connect_ctx.arq.zcard(PREFIX + "twitch") == before
        assert (await connection_of(connect_ctx)).last_refreshed_at is None
    finally:
        await connect_ctx.arq.delete(PREFIX + "twitch")
    result = await refresh_connection({"process": connect_ctx, "job_try": 10}, str(connection.id))
    assert "failed" not in result and result["http_calls"] > 0
    assert (await connection_of(connect_ctx)).last_refreshed_at is not None
