"""The pool replaces connections that died while idle (a PostgreSQL restart or failover), without paying a
ping on the checkouts of a busy process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from loupe.kit import db as kit_db
from loupe.kit.db import create_engine
from loupe.runtime import normalize_database_url


@pytest.fixture
def engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncEngine:
    monkeypatch.setattr(kit_db, "PING_IDLE_SECONDS", 0.2)
    return create_engine(normalize_database_url(database_url), pool_size=1, max_overflow=0)


async def pid_of(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def test_a_connection_killed_while_idle_is_replaced_at_checkout(engine: AsyncEngine) -> None:
    first = await pid_of(engine)
    killer = create_engine(engine.url.render_as_string(hide_password=False))
    async with killer.connect() as other:
        await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})  # as a restart would
    await killer.dispose()
    await asyncio.sleep(0.3)
    assert await pid_of(engine) != first  # no error: pinged, found dead, replaced
    await engine.dispose()


async def test_only_connections_idle_for_a_while_are_pinged(engine: AsyncEngine, monkeypatch: Any) -> None:
    dialect = engine.sync_engine.dialect
    pings: list[object] = []
    real = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real(conn))
    await pid_of(engine)
    await pid_of(engine)  # back from use a moment ago
    assert pings == []
    await asyncio.sleep(0.3)
    await pid_of(engine)
    assert len(pings) == 1
    await engine.dispose()
