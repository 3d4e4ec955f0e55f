"""The flush: moves batches from the Redis stream into PostgreSQL, exactly once.

A consumer group hands each entry to one consumer. An entry is acknowledged (XACK) and deleted
only after the transaction that stored its clicks committed. A consumer killed mid-batch leaves its
entries pending; after `reclaim_idle_ms` another consumer takes them over (XAUTOCLAIM) and stores
them again, and the primary keys turn the repeat into a no-op.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from loupe.clicks.events import RawClick, decode_batch
from loupe.clicks.metrics import CLICKS_FLUSHED
from loupe.clicks.store import store_raw

log = structlog.get_logger("loupe.clicks.flush")

# Yields an asyncpg connection inside an open transaction; commits when the block exits cleanly.
Transaction = Callable[[], AbstractAsyncContextManager[Any]]


@dataclass
class FlushStats:
    entries: int = 0
    reclaimed: int = 0
    clicks: int = 0
    orphans: int = 0
    duplicates: int = 0
    malformed: int = 0


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def decode_entry(fields: Any, stats: FlushStats) -> list[RawClick]:
    payload = (fields or {}).get(b"b") or (fields or {}).get("b")
    try:
        return decode_batch(payload or b"")
    except Exception:
        # Retrying cannot fix it: acknowledge it so it never blocks the stream, and say so.
        stats.malformed += 1
        log.error("click_entry_malformed")
        return []


class ClickFlusher:
    def __init__(
        self,
        redis: Redis,
        transaction: Transaction,
        *,
        stream: str,
        group: str,
        batch_entries: int = 50,
        reclaim_idle_ms: int = 30_000,
        max_clicks: int = 2_000,
        consumer: str | None = None,
    ) -> None:
        self.redis = redis
        self.transaction = transaction
        self.stream = stream
        self.group = group
        self.batch_entries = batch_entries
        self.reclaim_idle_ms = reclaim_idle_ms
        self.max_clicks = max_clicks
        self.consumer = consumer or consumer_name()

    async def ensure_group(self) -> None:
        # From id 0: entries written before the group existed are delivered too.
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _reclaim(self) -> list[tuple[Any, Any]]:
        reply = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, self.reclaim_idle_ms, start_id="0-0", count=self.batch_entries
        )
        return list(reply[1]) if reply and len(reply) > 1 else []

    async def _read(self) -> list[tuple[Any, Any]]:
        reply = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=self.batch_entries)
        return list(reply[0][1]) if reply else []

    async def flush(self, *, max_seconds: float = 10.0) -> FlushStats:
        """Drain what is there (and reclaim what others left), within a time budget."""
        await self.ensure_group()
        stats = FlushStats()
        deadline = time.monotonic() + max_seconds
        reclaiming = True
        while time.monotonic() < deadline:
            entries = await self._reclaim() if reclaiming else []
            if entries:
                stats.reclaimed += len(entries)
            else:
                reclaiming = False
                entries = await self._read()
            if not entries:
                break
            await self.store_entries(entries, stats)
        return stats

    async def store_entries(self, entries: list[tuple[Any, Any]], stats: FlushStats) -> None:
        """Store and acknowledge `entries` in transactions of at most `max_clicks` clicks. An entry carries
        anything from one click to a redirect's whole batch (2,000), so counting entries does not bound a
        transaction: 40 full entries made one of 80,000 clicks, whose enrichment held the worker's event
        loop for seconds. Entries are never split (one larger than the bound is a transaction of its own)."""
        chunk: list[tuple[Any, Any]] = []
        clicks: list[RawClick] = []
        for entry in entries:
            raws = decode_entry(entry[1], stats)
            if chunk and len(clicks) + len(raws) > self.max_clicks:
                await self._store(chunk, clicks, stats)
                chunk, clicks = [], []
            chunk.append(entry)
            clicks.extend(raws)
        if chunk:
            await self._store(chunk, clicks, stats)

    async def _store(self, entries: list[tuple[Any, Any]], batch: list[RawClick], stats: FlushStats) -> None:
        if batch:
            async with self.transaction() as conn:
                result = await store_raw(conn, batch)
            stats.clicks += result.clicks
            stats.orphans += result.orphans
            stats.duplicates += result.duplicates
            CLICKS_FLUSHED.labels("click").inc(result.clicks)
            CLICKS_FLUSHED.labels("orphan").inc(result.orphans)
            CLICKS_FLUSHED.labels("duplicate").inc(result.duplicates)
        await self.acknowledge([entry_id for entry_id, _ in entries])
        stats.entries += len(entries)

    async def acknowledge(self, ids: list[Any]) -> None:
        """Only after the commit: XACK, then XDEL so the stream only holds what is not stored yet."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *ids)
            pipe.xdel(self.stream, *ids)
            await pipe.execute()
