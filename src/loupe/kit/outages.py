"""Telling a dependency outage (PostgreSQL or Redis unreachable) from a bug, and waiting one out.

An outage is worth waiting for: the same call succeeds once the server is back. A bug is not. Every
process uses the same test, so the api answers 503 (not 500), and the worker pauses (not exits).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Literal

import asyncpg
import httpx
import redis.exceptions
import structlog
from sqlalchemy import exc as sa

log = structlog.get_logger("loupe.outages")

Dependency = Literal["database", "redis"]

# asyncpg's own words for "the server went away or is not accepting connections yet".
_PG_GONE = (
    asyncpg.PostgresConnectionError,  # connection does not exist / failure
    asyncpg.InterfaceError,  # "connection is closed"
    asyncpg.CannotConnectNowError,  # 57P03: starting up, shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,  # 57P02
)
_REDIS_GONE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError)


def outage_of(exc: BaseException) -> Dependency | None:
    """Which dependency `exc` says is unreachable, or None when it is anything else (a bug, bad input).

    Socket errors (refused, reset, timed out) come raw from asyncpg's connect: in our processes a bare
    one is a PostgreSQL connection (Redis wraps its own; an HTTP client's is not an outage of ours)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.HTTPError):
            return None  # a platform (or the sandbox) is unreachable: that is the caller's to handle
        if isinstance(current, _REDIS_GONE):
            return "redis"
        if isinstance(current, sa.DBAPIError) and current.connection_invalidated:
            return "database"
        if isinstance(current, (sa.TimeoutError, sa.InterfaceError, *_PG_GONE, ConnectionError, TimeoutError)):
            return "database"
        if isinstance(current, OSError) and current.errno is not None and "Connect call failed" in str(current):
            return "database"
        # Explicit causes, SQLAlchemy's wrapped driver error, or what was being handled when it was raised
        # (redis turns a connection lost during WATCH into a WatchError).
        current = current.__cause__ or getattr(current, "orig", None) or current.__context__
    return None


class Backoff:
    """Capped exponential backoff with full jitter: 0.25 s, 0.5 s, 1 s… up to `cap`, each drawn at random
    below its ceiling, so processes that lost a server together do not all come back at the same instant."""

    def __init__(self, first: float = 0.25, cap: float = 10.0) -> None:
        self.first = first
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.first * 2**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


async def wait_until_up(
    name: Dependency, probe: Callable[[], Awaitable[object]], *, error: BaseException, cap: float = 10.0
) -> None:
    """Log the loss once, probe with backoff until `probe` succeeds, log the return once."""
    log.warning("dependency_lost", dependency=name, error=type(error).__name__, retrying="with backoff")
    backoff = Backoff(cap=cap)
    while True:
        await asyncio.sleep(backoff.next_delay())
        try:
            await asyncio.wait_for(probe(), timeout=2)
        except Exception:  # still down: keep quiet, try again later
            continue
        log.warning("dependency_back", dependency=name, attempts=backoff.attempt)
        return
