"""Fault tests on the real servers: Redis stopped mid-burst, a flushing worker killed mid-batch.
Every request is answered, and every click lands in PostgreSQL exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from loupe.clicks.events import CLICK, RawClick, encode_batch, new_click_id, now_us
from loupe.clicks.flush import ClickFlusher
from loupe.config import Settings
from loupe.kit.context import ProcessContext
from loupe.kit.embedded import EmbeddedServers
from loupe.worker import create_worker
from tests.clicks.rollup_support import click_recount, click_rollups
from tests.clicks.support import BROWSER, flush, make_link, redirect_client, sql
from tests.conftest import Tenant

pytestmark = pytest.mark.asyncio


def _restart_redis_on_the_same_port(servers: EmbeddedServers) -> None:
    # Same folder, same append-only file: the restarted server reloads what it acknowledged.
    servers.redis.start(port=urlsplit(servers.redis_url).port)


async def _burst(client: httpx.AsyncClient, code: str, n: int) -> list[str]:
    async def one(i: int) -> str:
        response = await client.get(f"/l/{code}", headers={"user-agent": f"{BROWSER} n{i}"})
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["location"]).query)["lp_click"][0]

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def _clicks_in_postgres(db: ProcessContext) -> list[str]:
    return [row["id"].hex for row in await sql(db, "SELECT id FROM clicks")]


async def test_redis_stopped_during_a_burst_loses_and_duplicates_nothing(
    settings: Settings, db: ProcessContext, redis_url: str, servers: EmbeddedServers, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    sent: list[str] = []
    async with redirect_client(settings, db, click_redis_timeout_ms=100) as client:
        sent += await _burst(client, link["code"], 150)
        stopping = asyncio.create_task(asyncio.to_thread(servers.redis.stop))
        while not stopping.done():
            sent += await _burst(client, link["code"], 25)  # answered while Redis goes away
        sent += await _burst(client, link["code"], 150)  # answered while it is down
        state = client.app.state.redirect.state  # type: ignore[attr-defined]
        assert state.buffer.spooled > 0
        deadline = time.monotonic() + 10
        while state.spool.pending():  # the replayer writes straight to PostgreSQL while Redis is down
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        await asyncio.to_thread(_restart_redis_on_the_same_port, servers)
        sent += await _burst(client, link["code"], 100)  # and back to the stream
    await flush(db, settings, redis_url)

    stored = await _clicks_in_postgres(db)
    assert len(sent) == len(set(sent)) >= 400
    assert len(stored) == len(set(stored))  # exactly once
    assert set(stored) == set(sent)  # nothing lost


async def test_a_hung_redis_costs_a_bounded_wait_and_no_click(
    settings: Settings, db: ProcessContext, redis_url: str, servers: EmbeddedServers, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    pid = int((servers.redis.dir / "redis.pid").read_text().strip())
    async with redirect_client(settings, db, click_redis_timeout_ms=100) as client:
        sent = await _burst(client, link["code"], 20)
        os.kill(pid, signal.SIGSTOP)  # Redis hangs: connections stay open, nothing answers
        try:
            started = time.monotonic()
            sent += await _burst(client, link["code"], 60)
            assert time.monotonic() - started < 2  # bounded by the timeout, then the breaker
            state = client.app.state.redirect.state  # type: ignore[attr-defined]
            deadline = time.monotonic() + 10
            while state.spool.pending():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
        finally:
            os.kill(pid, signal.SIGCONT)
        sent += await _burst(client, link["code"], 20)
    await flush(db, settings, redis_url)
    stored = await _clicks_in_postgres(db)
    assert len(stored) == len(set(stored)) and set(stored) == set(sent)


async def test_a_redis_blip_leaves_spooled_clicks_for_redis_not_the_redirects_own_store(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    # Stored by the redirect itself, each spooled click is enriched on its event loop: a Redis that paused
    # for a moment made visitors wait hundreds of milliseconds. A blip's clicks wait on disk instead.
    link = await make_link(db, tenant.workspace_id)
    redis = Redis.from_url(redis_url)
    async with redirect_client(settings, db, click_redis_timeout_ms=100) as client:
        sent = await _burst(client, link["code"], 10)
        await asyncio.sleep(0.2)  # their XADDs acknowledged
        entries = await redis.xlen(settings.click_stream)
        await redis.execute_command("CLIENT", "PAUSE", 2000, "WRITE")  # XADDs hang: time out, spool
        sent += await _burst(client, link["code"], 40)  # answered from the write-ahead log
        state = client.app.state.redirect.state  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while not state.buffer.spooled:  # once their XADD timed out
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        # The segment rolls a second later and goes to the replayer, which gives it back to Redis.
        while any(state.spool.directory.iterdir()):
            assert time.monotonic() < deadline
            assert await _clicks_in_postgres(db) == []  # never stored by the redirect itself
            await asyncio.sleep(0.1)
        assert await redis.xlen(settings.click_stream) > entries
    await redis.aclose()
    await flush(db, settings, redis_url)
    stored = await _clicks_in_postgres(db)
    assert len(stored) == len(set(stored)) and set(stored) == set(sent)


async def test_flush_interrupted_between_commit_and_ack_is_replayed_without_duplicates(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        sent = await _burst(client, link["code"], 60)

    async def crash(self: ClickFlusher, ids: list[object]) -> None:
        raise ConnectionError("worker died after the commit, before XACK")

    with monkeypatch.context() as patch:
        patch.setattr(ClickFlusher, "acknowledge", crash)
        with pytest.raises(ConnectionError):
            await flush(db, settings, redis_url)
    assert sorted(await _clicks_in_postgres(db)) == sorted(sent)  # committed, but still pending in Redis

    stats = await flush(db, settings, redis_url, reclaim_idle_ms=1, consumer="another-worker")
    assert stats.reclaimed >= 1 and stats.duplicates == len(sent) and stats.clicks == 0
    assert sorted(await _clicks_in_postgres(db)) == sorted(sent)
    redis = Redis.from_url(redis_url)
    try:
        assert (await redis.xpending(settings.click_stream, settings.click_group))["pending"] == 0
        assert await redis.xlen(settings.click_stream) == 0  # acknowledged entries are deleted
    finally:
        await redis.aclose()


SLOW_FLUSHER = """
import asyncio, sys
from contextlib import asynccontextmanager
from redis.asyncio import Redis
from sqlalchemy import text
from loupe.clicks.flush import ClickFlusher
from loupe.clicks.pg import engine_transaction
from loupe.kit.db import create_engine

async def main():
    engine = create_engine(sys.argv[1])
    inner = engine_transaction(engine)

    @asynccontextmanager
    async def slow():
        async with inner() as conn:
            yield conn
            await asyncio.sleep(0.1)  # a wide window between the insert and the commit

    flusher = ClickFlusher(Redis.from_url(sys.argv[2]), slow, stream=sys.argv[3], group=sys.argv[4],
                           batch_entries=1, consumer="doomed")
    await flusher.flush(max_seconds=60)

asyncio.run(main())
"""


async def _a_transaction_is_open(db: ProcessContext) -> bool:
    """Is some connection inside a transaction (the slow flusher, between its insert and its commit)?"""
    query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'"
    async with db.engine.connect() as conn:
        return bool(await conn.scalar(text(query)))


async def test_worker_killed_mid_batch_then_a_real_arq_worker_finishes_exactly_once(
    settings: Settings, db: ProcessContext, database_url: str, redis_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    link = await make_link(db, tenant.workspace_id)
    redis = Redis.from_url(redis_url)
    sent: list[str] = []
    for _ in range(40):  # 40 stream entries of 50 clicks, as the redirect's group commit writes them
        batch = [
            RawClick(new_click_id(), now_us(), CLICK, link["code"], link["id"].replace("-", ""),
                     tenant.workspace_id.replace("-", ""), "81.2.69.160", BROWSER, "", False)
            for _ in range(50)
        ]  # fmt: skip
        sent += [c.id for c in batch]
        await redis.xadd(settings.click_stream, {"b": encode_batch([c.wire() for c in batch])})

    args = [database_url, redis_url, settings.click_stream, settings.click_group]
    worker = await asyncio.create_subprocess_exec(sys.executable, "-c", SLOW_FLUSHER, *args)
    try:
        deadline = time.monotonic() + 30
        # Killed inside a batch's transaction (its entry read, not acknowledged), after a few committed ones.
        while len(await _clicks_in_postgres(db)) < 150 or not await _a_transaction_is_open(db):
            assert worker.returncode is None and time.monotonic() < deadline
            await asyncio.sleep(0.005)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        await asyncio.wait_for(worker.wait(), 10)
    partial = len(await _clicks_in_postgres(db))
    assert 150 <= partial < len(sent)
    assert (await redis.xpending(settings.click_stream, settings.click_group))["pending"] >= 1

    await db.arq.enqueue_job("flush_clicks")
    arq = create_worker(
        settings.model_copy(update={"click_reclaim_idle_ms": 1}), database_url, redis_url, burst=True, poll_delay=0.05
    )
    try:
        await arq.async_run()
    finally:
        await arq.close()
    assert arq.jobs_complete == 1 and arq.jobs_failed == 0

    stored = await _clicks_in_postgres(db)
    assert len(stored) == len(set(stored)) == len(sent)
    assert set(stored) == set(sent)
    assert await click_rollups(db) == await click_recount(db)  # the killed batch was not summed twice
    assert (await redis.xpending(settings.click_stream, settings.click_group))["pending"] == 0
    await redis.aclose()


async def test_a_first_redirect_while_postgresql_hangs_answers_503_within_a_bound(
    settings: Settings, redis_url: str
) -> None:
    from loupe.redirect.app import RedirectApp
    from loupe.redirect.state import RedirectState

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never answers: a PostgreSQL that hangs

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    opens = 0

    async def opener() -> RedirectState:
        nonlocal opens
        opens += 1
        dsn = f"postgresql://loupe@127.0.0.1:{port}/loupe"
        return await RedirectState.open(settings, dsn, Redis.from_url(redis_url))

    redirect = RedirectApp(settings, opener)
    transport = httpx.ASGITransport(app=redirect, client=("203.0.113.9", 50000))  # type: ignore[arg-type]
    try:
        async with server, httpx.AsyncClient(transport=transport, base_url="http://loupe.test") as client:
            started = time.monotonic()
            answers = await asyncio.wait_for(asyncio.gather(*(client.get(f"/l/code{i}") for i in range(5))), 20)
            assert [r.status_code for r in answers] == [503] * 5 and answers[0].headers["retry-after"] == "5"
            assert time.monotonic() - started < 5  # one bounded attempt, shared by the waiting requests
            assert opens == 1
    finally:
        await redirect.close()


async def test_nothing_a_visitor_sends_or_a_bad_item_holds_back_the_flush(
    settings: Settings, db: ProcessContext, redis_url: str, tenant: Tenant
) -> None:
    link = await make_link(db, tenant.workspace_id)
    async with redirect_client(settings, db) as client:
        assert (await client.get("/l/%00")).status_code == 404  # a NUL in the code: PostgreSQL text refuses it
        sent = await _burst(client, link["code"], 3)
    good = RawClick(new_click_id(), now_us(), CLICK, link["code"], link["id"].replace("-", ""),
                    tenant.workspace_id.replace("-", ""), "81.2.69.160", BROWSER, "", False)  # fmt: skip
    bad = [*good.wire()]
    bad[0], bad[4] = new_click_id(), "not-a-uuid"
    redis = Redis.from_url(redis_url)
    try:
        await redis.xadd(settings.click_stream, {"b": encode_batch([bad, good.wire()])})
    finally:
        await redis.aclose()

    stats = await flush(db, settings, redis_url)
    assert (stats.clicks, stats.orphans) == (4, 1)
    assert set(await _clicks_in_postgres(db)) == {*sent, good.id}  # the bad item alone is left out
    assert [r["code"] for r in await sql(db, "SELECT code FROM orphan_visits")] == ["\ufffd"]


async def test_redis_down_and_a_hung_disk_still_answer_the_visitor_within_a_bound(
    settings: Settings, db: ProcessContext, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from prometheus_client import REGISTRY

    from loupe.clicks.buffer import ClickBuffer
    from loupe.clicks.spool import Spool

    def lost() -> float:
        return REGISTRY.get_sample_value("loupe_clicks_not_recorded_total") or 0.0

    link = await make_link(db, tenant.workspace_id)
    disk = threading.Event()

    async def redis_down(self: ClickBuffer, payload: bytes) -> bool:
        return False

    def hung_fsync(self: Spool, payload: bytes) -> None:
        disk.wait(30)  # the spool's disk does not answer

    monkeypatch.setattr(ClickBuffer, "push", redis_down)
    monkeypatch.setattr(Spool, "_append", hung_fsync)
    before = lost()
    try:
        # Waiting for Redis (the path a request takes when its write ahead fails too).
        async with redirect_client(settings, db, click_redis_timeout_ms=100, click_write_ahead=False) as client:
            started = time.monotonic()
            response = await asyncio.wait_for(client.get(f"/l/{link['code']}"), 10)
            assert response.status_code == 302 and time.monotonic() - started < 5  # bound: 4 x 100 ms + 1 s
            assert lost() == before + 1  # said, not hidden
    finally:
        disk.set()
