"""The sandbox's notion of "now": real time by default, frozen or advanced in tests."""

from __future__ import annotations

import time


class Clock:
    """Wall clock plus an offset.

    `frozen_at` pins time (fully deterministic tests); `advance()` moves it forward in either mode so
    expiry rules (tokens, 24 h stories, 60-day tokens) can be exercised without waiting.
    """

    def __init__(self, frozen_at: float | None = None) -> None:
        self._frozen_at = frozen_at
        self._offset = 0.0

    def now(self) -> float:
        base = self._frozen_at if self._frozen_at is not None else time.time()
        return base + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self._offset += seconds
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None
