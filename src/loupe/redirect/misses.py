"""Unknown codes, limited per client address in process (no Redis round trip on the redirect's path).

Each address has a token bucket spent by its answers of "no such link" (each one an orphan visit to store).
An address whose bucket is empty gets 429 for any code that is not a cached link, with no lookup and
nothing recorded; cached links are never limited. An address that missed recently is a *suspect*: its
lookups of uncached codes go to the small miss pool, so visitors of real links never wait behind a flood.
A flood spread over many addresses still costs each of them one lookup on the main pool at first, bounded
by the lookup's timeout (docs/clicks.md).
"""

from __future__ import annotations

import time
from collections import OrderedDict


class MissLimiter:
    def __init__(self, rate: float, burst: int, max_addresses: int = 100_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # address -> (tokens, at)

    def _tokens(self, address: str, now: float) -> float:
        entry = self._buckets.get(address)
        if entry is None:
            return self.burst
        tokens, at = entry
        return min(self.burst, tokens + (now - at) * self.rate)

    def allows(self, address: str) -> bool:
        """Whether `address` may still have a code looked up or an orphan visit recorded."""
        return self._tokens(address, time.monotonic()) >= 1.0

    def suspect(self, address: str) -> bool:
        """Whether `address` missed recently (its bucket is not full again yet)."""
        return self._tokens(address, time.monotonic()) < self.burst

    def missed(self, address: str) -> None:
        now = time.monotonic()
        tokens = max(0.0, self._tokens(address, now) - 1.0)
        self._buckets[address] = (tokens, now)
        self._buckets.move_to_end(address)
        while len(self._buckets) > self.max_addresses:  # the longest quiet addresses are forgotten first
            self._buckets.popitem(last=False)
