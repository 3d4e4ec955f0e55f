"""Plain asyncpg connections for the click paths (no ORM): from an SQLAlchemy engine or a pool."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine


def asyncpg_dsn(url: str) -> str:
    """`postgresql+asyncpg://…` (what SQLAlchemy takes) → `postgresql://…` (what asyncpg takes)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def engine_transaction(engine: AsyncEngine) -> Any:
    @asynccontextmanager
    async def transaction() -> AsyncIterator[Any]:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            if driver is None:
                raise RuntimeError("the pool handed out a closed connection")
            async with driver.transaction():
                yield driver

    return transaction


def pool_transaction(pool: Any) -> Any:
    @asynccontextmanager
    async def transaction() -> AsyncIterator[Any]:
        async with pool.acquire() as conn, conn.transaction():
            yield conn

    return transaction
