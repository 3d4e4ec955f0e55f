"""Per-credential rate limits of the api, shared by every api process through Redis: GCRA in one Lua script.

GCRA keeps one number per credential, its theoretical arrival time (TAT): each request moves it one
emission interval (`seconds / limit`) later, and a request is refused while the TAT is more than the
window ahead of now. It is a sliding window without a log: smooth, one key, one round trip, on Redis'
own clock (the api processes' clocks do not matter).

Answers carry the IETF draft headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy`
(quota `q`, window `w`) and `RateLimit` (remaining `r`, seconds `t` until the quota is whole again).

Redis unreachable: the limit fails open (the request is served, one `rate_limit_unavailable` log line and
`loupe_rate_limit_unavailable_total`), because the api must keep serving through a Redis outage
(kit.outages) and a credential's volume is bounded by PostgreSQL's pool meanwhile anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import structlog
from prometheus_client import Counter
from redis.asyncio import Redis

from loupe.config import RequestLimit
from loupe.kit.outages import outage_of

PREFIX = "loupe:throttle:"
UNAVAILABLE = Counter("loupe_rate_limit_unavailable_total", "Rate-limit checks skipped: Redis unreachable")
log = structlog.get_logger("loupe.throttle")

# KEYS[1] the credential's TAT; ARGV: emission interval, window (seconds). Returns allowed, TAT - now.
GCRA = """
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now)
local next_tat = tat + interval
if next_tat - now > window + 1e-9 then
  return {0, string.format("%.6f", tat - now)}
end
redis.call('SET', KEYS[1], string.format("%.6f", next_tat), 'PX', math.ceil(window * 1000) + 1000)
return {1, string.format("%.6f", next_tat - now)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    policy: str
    limit: RequestLimit
    remaining: int
    reset_seconds: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.limit.limit};w={self.limit.seconds}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={self.reset_seconds}',
        }


class Throttle:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._script = redis.register_script(GCRA)
        self._down = False  # logged once per outage, counted every time

    async def take(self, credential: str, policy: str, limit: RequestLimit) -> Decision | None:
        """One request of `credential` under `limit`; None when Redis cannot be asked (fail open)."""
        interval = limit.seconds / limit.limit
        try:
            allowed, ahead = await self._script(keys=[f"{PREFIX}{policy}:{credential}"], args=[interval, limit.seconds])
        except Exception as exc:
            if outage_of(exc) != "redis":
                raise
            UNAVAILABLE.inc()
            if not self._down:
                log.warning("rate_limit_unavailable", error=type(exc).__name__)
            self._down = True
            return None
        self._down = False
        ahead = float(ahead)
        remaining = max(0, math.floor((limit.seconds - ahead) / interval + 1e-9))
        # Refused: one more fits once the TAT is back within the window (plus one interval).
        retry_after = 0 if allowed else max(1, math.ceil(ahead + interval - limit.seconds))
        return Decision(bool(allowed), policy, limit, remaining, math.ceil(ahead), retry_after)
