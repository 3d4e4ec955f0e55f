"""Rate-limit budgets and sliding-window meters."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field


@dataclass
class Limits:
    """Budgets per platform. Adjustable through `POST /_sandbox/limits` (tests lower them)."""

    meta_app_per_hour: int = 20_000  # X-App-Usage call_count denominator -> code 4
    meta_user_per_hour: int = 4_800  # per user token -> code 17
    meta_buc_per_hour: int = 4_800  # per business object -> 80002 (IG) / 80001 (Pages)
    tiktok_per_minute: int = 600  # per endpoint, sliding window
    youtube_units_per_day: int = 10_000  # per project (client id), reset at midnight Pacific
    x_per_15min: dict[str, int] = field(
        default_factory=lambda: {"users_me": 75, "user_tweets": 900, "users": 900, "tweets": 900}
    )
    twitch_points_per_minute: int = 800

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def update(self, values: dict[str, object]) -> None:
        for key, value in values.items():
            if not hasattr(self, key):
                raise ValueError(f"unknown limit {key!r}")
            if key == "x_per_15min" and isinstance(value, dict):
                self.x_per_15min.update({k: int(v) for k, v in value.items()})
            else:
                setattr(self, key, int(value))  # type: ignore[call-overload]


class Window:
    """Timestamps of calls in a sliding window of `span` seconds."""

    def __init__(self, span: float) -> None:
        self.span = span
        self.hits: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.hits and self.hits[0] <= now - self.span:
            self.hits.popleft()

    def count(self, now: float) -> int:
        self._trim(now)
        return len(self.hits)

    def hit(self, now: float, weight: int = 1) -> int:
        self._trim(now)
        self.hits.extend([now] * weight)
        return len(self.hits)

    def reset_at(self, now: float) -> float:
        """When the oldest call leaves the window (when capacity comes back)."""
        self._trim(now)
        return (self.hits[0] + self.span) if self.hits else now


class Meters:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, ...], Window] = {}
        self.counters: dict[tuple[str, ...], int] = {}  # fixed-period counters (YouTube quota)

    def window(self, key: tuple[str, ...], span: float) -> Window:
        win = self._windows.get(key)
        if win is None:
            win = self._windows[key] = Window(span)
        return win

    def reset(self) -> None:
        self._windows.clear()
        self.counters.clear()
