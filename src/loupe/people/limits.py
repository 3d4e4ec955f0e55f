"""Sign-in attempts, limited per email and per address with growing delays.

A few failures are free; after that every failure locks further attempts for twice as long as the last
(1 s, 2 s, 4 s, … at most 15 minutes), per email (however many addresses guess it) and per address (however
many emails it guesses). Counters live in Redis for an hour after the last failure; a success clears the
email's. Emails are counted by digest, so Redis holds no address book, and unknown emails count like known
ones (a lock-out says nothing about whether an account exists)."""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis

from loupe.kit.errors import TooManyRequests

PREFIX = "loupe:signin:"
FREE_FAILURES = {"email": 5, "address": 20}
FIRST_DELAY_MS = 1_000
MAX_DELAY_MS = 15 * 60 * 1_000
WINDOW_SECONDS = 3_600


def _key(kind: str, value: str) -> str:
    return PREFIX + kind + ":" + hashlib.sha256(value.lower().encode()).hexdigest()[:32]


class SignInLimiter:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def _keys(self, email: str, address: str) -> dict[str, str]:
        return {"email": _key("email", email), "address": _key("address", address)}

    async def check(self, email: str, address: str) -> None:
        """Refuses with 429 and `Retry-After` while either is locked."""
        waits = [await self.redis.pttl(key + ":lock") for key in self._keys(email, address).values()]
        wait = max(waits)
        if wait > 0:
            seconds = math.ceil(wait / 1000)
            raise TooManyRequests(
                f"Too many failed sign-ins; try again in {seconds} s.", headers={"Retry-After": str(seconds)}
            )

    async def failed(self, email: str, address: str) -> None:
        for kind, key in self._keys(email, address).items():
            count = int(await self.redis.incr(key))
            await self.redis.expire(key, WINDOW_SECONDS)
            over = count - FREE_FAILURES[kind]
            if over >= 0:
                delay = min(FIRST_DELAY_MS * 2**over, MAX_DELAY_MS)
                await self.redis.set(key + ":lock", 1, px=delay)

    async def succeeded(self, email: str) -> None:
        key = _key("email", email)
        await self.redis.delete(key, key + ":lock")
