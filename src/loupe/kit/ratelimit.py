"""Per-platform rate limiting shared by every worker: a sliding-window log in Redis, one Lua script.

Each platform (or, for TikTok, each endpoint) has one sorted set of granted permits, scored by the moment
each permit may be used. `acquire` runs one script that, atomically and on Redis' own clock (so the workers'
clocks do not matter):

1. drops permits older than the window;
2. finds the earliest moment `at >= now` at which one more call keeps every window of `seconds` at `limit`
   calls or fewer: `at = max(now, last permit, permit[n - limit] + seconds)` (permits are granted in
   non-decreasing order, so the window ending at `at` is the only one to check);
3. records the permit at `at` (a reservation: waiting callers queue in the order they asked) unless the wait
   would exceed `max_wait`, in which case nothing is recorded and the wait is returned.

The caller then sleeps until `at`. However many workers ask, no window ever holds more than `limit` permits.
A permit reserved by a caller that is cancelled while waiting is simply lost (the limiter errs on the side
of calling less). `margin` widens every window a little: calls leave the worker after their permit (network,
event-loop delays), and the platform counts them when they arrive.

`LimitedTransport` takes a permit for every HTTP request a connector sends (an operation like "list the
contents" may page through several requests), so the count is the platform's count.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from loupe.config import RateLimitRule, RateLimitSettings
from loupe.connectors import ConnectorError, ErrorKind

PREFIX = "loupe:ratelimit:"

# KEYS[1] the window's sorted set; ARGV: limit, window seconds, max wait seconds, member (unique)
ACQUIRE = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
local at = now
if n > 0 then
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  at = math.max(at, tonumber(last[2]))
end
if n >= limit then
  local nth = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
  at = math.max(at, tonumber(nth[2]) + window)
end
local wait = at - now
if wait > max_wait then
  return {0, string.format("%.6f", wait), string.format("%.6f", at)}
end
redis.call('ZADD', key, at, ARGV[4])
redis.call('PEXPIRE', key, math.ceil((wait + window) * 1000) + 1000)
return {1, string.format("%.6f", wait), string.format("%.6f", at)}
"""


@dataclass(frozen=True)
class Permit:
    granted: bool
    wait: float  # seconds from asking until the permit may be used (or, refused, until one might be free)
    at: float  # that moment, in Redis' clock (Unix seconds)


class RateLimited(ConnectorError):
    """No permit within `max_wait`: the caller should come back after `retry_after` seconds."""

    def __init__(self, key: str, wait: float) -> None:
        platform = key.split(":", 1)[0]
        super().__init__(
            ErrorKind.RATE_LIMITED,
            platform,
            f"Loupe's own {key} limit: next call possible in {wait:.1f} s",
            retry_after=max(1.0, wait),
        )


class NotYet(RateLimited):
    """Refused before the first request of a job: nothing was sent, so the whole job can wait in the queue
    (arq `Retry`) instead of holding a worker slot asleep; no permit was reserved for it."""


class RateLimiter:
    """`await limiter.acquire("tiktok", "/v2/video/list/")` returns once a permit is held."""

    def __init__(
        self,
        redis: Redis,
        rules: Mapping[str, RateLimitRule],
        *,
        max_wait: float = 30.0,
        margin: float = 1.0,
        prefix: str = PREFIX,
    ) -> None:
        self.redis = redis
        self.rules = dict(rules)
        self.max_wait = max_wait
        self.margin = margin
        self.prefix = prefix
        self._script = redis.register_script(ACQUIRE)

    @classmethod
    def of(cls, redis: Redis, settings: RateLimitSettings) -> RateLimiter:
        return cls(redis, settings.rules, max_wait=settings.max_wait_seconds, margin=settings.margin_seconds)

    def key(self, platform: str, endpoint: str | None = None) -> str | None:
        """The window a call counts against; None when the platform has no rule."""
        rule = self.rules.get(platform)
        if rule is None:
            return None
        return f"{platform}:{endpoint}" if rule.per_endpoint and endpoint else platform

    async def reserve(self, platform: str, endpoint: str | None = None, max_wait: float | None = None) -> Permit:
        """One atomic try: a permit (granted or not) with its wait and its moment on Redis' clock."""
        key = self.key(platform, endpoint)
        if key is None:
            return Permit(True, 0.0, 0.0)
        rule = self.rules[platform]
        granted, wait, at = await self._script(
            keys=[self.prefix + key],
            args=[
                rule.limit,
                rule.seconds + self.margin,
                self.max_wait if max_wait is None else max_wait,
                uuid.uuid4().hex,
            ],
        )
        return Permit(bool(int(granted)), max(0.0, float(wait)), float(at))

    async def acquire(
        self,
        platform: str,
        endpoint: str | None = None,
        max_wait: float | None = None,
        refused: type[RateLimited] = RateLimited,
    ) -> Permit:
        """Wait (at most `max_wait`) for a permit; raise `refused` with the wait when it is further off."""
        permit = await self.reserve(platform, endpoint, max_wait)
        granted, wait = permit.granted, permit.wait
        if not granted:
            raise refused(self.key(platform, endpoint) or platform, wait)
        if wait > 0:
            await asyncio.sleep(wait)
        return permit


class LimitedTransport(httpx.AsyncBaseTransport):
    """Sends through `inner` (the process's shared connection pool, `ProcessContext.http_transport`) after
    taking a permit of `platform` for every request; `calls` counts the requests sent."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        limiter: RateLimiter | None,
        platform: str,
        *,
        first_wait: float | None = None,
    ) -> None:
        self.inner = inner
        self.limiter = limiter
        self.platform = platform
        self.first_wait = first_wait  # the first request waits at most this long, else `NotYet`
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.limiter is not None:
            if self.calls == 0 and self.first_wait is not None:
                await self.limiter.acquire(self.platform, request.url.path, self.first_wait, NotYet)
            else:
                await self.limiter.acquire(self.platform, request.url.path)
        self.calls += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        """The pool belongs to the process: closing this transport leaves it open."""


def limited_client(transport: LimitedTransport, timeout: httpx.Timeout) -> httpx.AsyncClient:
    """A light client (no pool of its own) whose every request takes a permit first."""
    return httpx.AsyncClient(transport=transport, trust_env=False, timeout=timeout)


def limiter_for(redis: Redis, settings: RateLimitSettings) -> RateLimiter | None:
    """A limiter on this Redis client (None when limiting is switched off); cheap to build."""
    return RateLimiter.of(redis, settings) if settings.enabled else None
