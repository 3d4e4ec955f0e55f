"""Per-process cache of links by code, kept fresh by PostgreSQL LISTEN/NOTIFY.

Migration 0003 adds a trigger on `tracking_links` that notifies `CHANNEL` with the code of every row
inserted, updated or deleted, at commit. Every redirect process listens and drops that code from its
cache, so an archive or an edit made by any service with a plain UPDATE shows on every replica at
once. The links service calls nothing. While the listening connection is down (or its heartbeat
fails), cached entries are trusted for `fallback_ttl` only, so the bound holds without it; on
reconnect the cache is emptied, since notifications may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from loupe.links.utm import UTM_FIELDS
from loupe.redirect.destination import split_location

log = structlog.get_logger("loupe.redirect.links")

CHANNEL = "loupe_tracking_links"
LOOKUP = f"""
SELECT id, workspace_id, destination, archived_at IS NOT NULL AS archived, {", ".join(UTM_FIELDS)}
FROM tracking_links WHERE code = $1 AND kind = 'creator'
"""
HEARTBEAT_SECONDS = 0.25


class Missing(enum.Enum):
    MISSING = "missing"


MISSING = Missing.MISSING  # no trusted entry: not the same as a cached "no such link" (None)


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    workspace_id: str
    archived: bool
    prefix: str
    suffix: str

    def location(self, click_id: str) -> str:
        return f"{self.prefix}{click_id}{self.suffix}"


def link_from_row(row: Any) -> Link | None:
    split = split_location(row["destination"], {f: row[f] for f in UTM_FIELDS})
    if split is None:
        return None  # not an http(s) destination: never redirect there
    return Link(row["id"].hex, row["workspace_id"].hex, row["archived"], *split)


class LinkCache:
    def __init__(
        self,
        pool: Any,
        dsn: str,
        *,
        fallback_ttl: float = 0.5,
        max_age: float = 60.0,
        query_timeout: float = 1.0,
        max_entries: int = 200_000,
    ) -> None:
        self.pool = pool
        self.dsn = dsn
        self.fallback_ttl = fallback_ttl
        self.max_age = max_age
        self.query_timeout = query_timeout
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Link | None, float]] = {}
        self._inflight: dict[str, asyncio.Future[Link | None]] = {}
        self._generation = 0
        self.listening = False
        self._listening_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.lookups = 0

    def fresh(self, code: str) -> Link | Missing | None:
        """The cached answer for `code` if it is still trusted, else MISSING (a lookup is needed)."""
        hit = self._entries.get(code)
        if hit is not None and time.monotonic() - hit[1] < (self.max_age if self.listening else self.fallback_ttl):
            return hit[0]
        return MISSING

    async def get(self, code: str, pool: Any = None) -> Link | None:
        """The link of `code`, or None when no servable link has it. Raises if unknown and PostgreSQL fails.
        A lookup goes through `pool` when given (the miss pool), else the main one."""
        cached = self.fresh(code)
        if cached is not MISSING:
            return cached
        pending = self._inflight.get(code)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Link | None] = asyncio.get_running_loop().create_future()
        self._inflight[code] = future
        try:
            link = await self._load(code, self._entries.get(code), pool or self.pool)
            future.set_result(link)
            return link
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        finally:
            del self._inflight[code]

    async def _load(self, code: str, stale: tuple[Link | None, float] | None, pool: Any) -> Link | None:
        generation = self._generation
        started = time.monotonic()
        try:
            self.lookups += 1
            # Bounded as a whole (waiting for one of the few pooled connections included): a flood of
            # unknown codes queues here for at most this long, and PostgreSQL sees at most pool-size queries.
            async with asyncio.timeout(self.query_timeout):
                row = await pool.fetchrow(LOOKUP, code)
        except Exception:
            if stale is not None:
                log.warning("link_lookup_failed_serving_stale", code=code)
                return stale[0]
            raise
        link = link_from_row(row) if row is not None else None
        # A notification during the query may concern this very row: use the answer, do not keep it.
        if generation == self._generation:
            if len(self._entries) >= self.max_entries:
                self._make_room()
            self._entries[code] = (link, started)
        return link

    def _make_room(self) -> None:
        """Forget the unknown codes first: a flood of made-up codes must not evict every real link
        (and send each of their redirects to PostgreSQL)."""
        self._entries = {code: entry for code, entry in self._entries.items() if entry[0] is not None}
        if len(self._entries) >= self.max_entries:
            self._entries.clear()

    @property
    def lookups_in_flight(self) -> int:
        return len(self._inflight)

    def cached(self, code: str) -> bool:
        """Whether `code` has an entry (fresh or not): gone once a notification dropped it."""
        return code in self._entries

    def invalidate(self, code: str | None = None) -> None:
        self._generation += 1
        if code:
            self._entries.pop(code, None)
        else:
            self._entries.clear()

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.invalidate(payload or None)

    async def start(self, wait: float = 2.0) -> None:
        """Start listening; wait a little for it, so the cache starts out trusted (else: short TTL)."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen_forever(), name="link-cache-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening_event.wait(), wait)

    async def _listen_forever(self) -> None:
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self.dsn, timeout=2)
                await connection.add_listener(CHANNEL, self._on_notify)
                self.invalidate()  # whatever happened while we were not listening
                self.listening = True
                self._listening_event.set()
                while True:
                    await asyncio.sleep(HEARTBEAT_SECONDS)
                    await connection.fetchval("SELECT 1", timeout=0.5)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.listening:
                    log.warning("link_cache_listener_lost", error=type(exc).__name__)
            finally:
                self.listening = False
                self._listening_event.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 1)
            await asyncio.sleep(0.5)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
