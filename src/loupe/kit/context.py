"""Process-wide resources (engine, Redis, job pool, HTTP client, media store, token vault), built once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from loupe.config import Settings
from loupe.kit.clock import Clock
from loupe.kit.db import create_engine, create_sessionmaker
from loupe.kit.jobs import create_job_pool
from loupe.kit.media import MediaStore
from loupe.kit.throttle import Throttle
from loupe.kit.vault import TokenVault


@dataclass
class ProcessContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    arq: ArqRedis
    http: httpx.AsyncClient
    media: MediaStore
    vault: TokenVault
    clock: Clock = field(default_factory=Clock)

    @classmethod
    async def create(cls, settings: Settings, database_url: str, redis_url: str) -> ProcessContext:
        engine = create_engine(database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
        arq = await create_job_pool(redis_url)
        http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0), follow_redirects=False)
        vault = TokenVault.of(settings)
        return cls(settings, engine, create_sessionmaker(engine), arq, http, MediaStore.of(settings), vault)

    @functools.cached_property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for reads that need no transaction (autocommit: no BEGIN and ROLLBACK round trips, which
        a job run per account pays thousands of times an hour)."""
        return create_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    @functools.cached_property
    def throttle(self) -> Throttle:
        """The api's per-credential rate limits, on the job pool's Redis."""
        return Throttle(self.arq)

    @property
    def http_transport(self) -> httpx.AsyncBaseTransport:
        """The shared client's connection pool: a light client on it (kit.ratelimit) sends each request
        through one client's pipeline, not two."""
        return self.http._transport

    async def close(self) -> None:
        await self.http.aclose()
        await self.arq.aclose()
        await self.engine.dispose()
