"""What a redirect process holds: Redis, a small asyncpg pool, the link cache, the click buffer, the spool."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from redis.asyncio import Redis

from loupe.clicks.bots import warm_crawler_lists
from loupe.clicks.buffer import ClickBuffer
from loupe.clicks.events import decode_batch
from loupe.clicks.pg import pool_transaction
from loupe.clicks.spool import Spool
from loupe.clicks.store import store_raw
from loupe.clicks.wal import WriteAhead
from loupe.config import Settings
from loupe.redirect.links import LinkCache
from loupe.redirect.misses import MissLimiter

log = structlog.get_logger("loupe.redirect")
REPLAY_SECONDS = 0.5
CONNECT_TIMEOUT = 2.0  # per PostgreSQL connection (DNS, TCP, authentication): opening is on a request's path


class RedisBlip(Exception):
    """Redis failed only a moment ago: the spooled batches wait for it on disk."""


def spool_dir(settings: Settings) -> Path:
    return settings.click_spool_dir or settings.data_dir / "spool" / "clicks"


@dataclass
class RedirectState:
    settings: Settings
    redis: Redis
    pool: Any
    links: LinkCache
    buffer: ClickBuffer
    spool: Spool
    miss_pool: Any  # lookups by addresses that missed recently: a flood never holds the main pool
    misses: MissLimiter
    _replayer: asyncio.Task[None] | None = field(default=None)

    @classmethod
    async def open(cls, settings: Settings, dsn: str, redis: Redis) -> RedirectState:
        timeout = settings.click_redis_timeout_ms / 1000
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4, command_timeout=5, timeout=CONNECT_TIMEOUT)
        links = LinkCache(
            pool,
            dsn,
            fallback_ttl=settings.link_cache_fallback_ttl_ms / 1000,
            max_age=settings.link_cache_max_age_s,
        )
        miss_pool = await asyncpg.create_pool(
            dsn, min_size=0, max_size=settings.redirect_miss_pool_size, command_timeout=5, timeout=CONNECT_TIMEOUT
        )
        spool = Spool(spool_dir(settings))
        wal = WriteAhead(spool) if settings.click_write_ahead else None
        buffer = ClickBuffer(redis, settings.click_stream, spool, timeout=timeout, wal=wal)
        misses = MissLimiter(settings.redirect_miss_rate, settings.redirect_miss_burst)
        state = cls(settings, redis, pool, links, buffer, spool, miss_pool, misses)
        await links.start()
        await asyncio.to_thread(warm_crawler_lists)  # a replay that stores clicks itself enriches them
        state._replayer = asyncio.create_task(state._replay_forever(), name="click-spool-replayer")
        return state

    async def replay_once(self, *, direct_after: float = 0.0) -> int:
        """Spooled batches back into the stream if Redis answers, else straight into PostgreSQL, once Redis
        has been failing for `direct_after` seconds (before that, they stay on disk: `RedisBlip`)."""

        async def deliver(payload: bytes) -> None:
            if await self.buffer.push(payload):
                return
            if self.buffer.redis_failing_for < direct_after:
                raise RedisBlip
            async with pool_transaction(self.pool)() as conn:
                await store_raw(conn, decode_batch(payload))

        return await self.spool.replay(deliver)

    async def _replay_forever(self) -> None:
        direct_after = self.settings.click_spool_direct_after_ms / 1000
        while True:
            await asyncio.sleep(REPLAY_SECONDS)
            try:
                if self.spool.pending():
                    await self.replay_once(direct_after=direct_after)
            except RedisBlip:  # kept on disk for Redis to take back once it answers
                pass
            except Exception as exc:  # kept on disk; the next round tries again
                log.warning("click_spool_replay_failed", error=type(exc).__name__)

    async def close(self) -> None:
        if self._replayer is not None:
            self._replayer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._replayer
        await self.buffer.close()
        with contextlib.suppress(Exception):
            await self.replay_once()  # leave nothing behind that Redis or PostgreSQL can take now
        self.spool.close()
        await self.links.close()
        for pool in (self.pool, self.miss_pool):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 5)
        with contextlib.suppress(Exception):
            await self.redis.aclose()
