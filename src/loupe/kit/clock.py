"""The one clock Loupe's jobs read. Production reads the system time; tests move it (with the sandbox's
`/_sandbox/clock`) to run days of refreshes in seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        return self._frozen if self._frozen is not None else datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def freeze(self, at: datetime) -> None:
        self._frozen = at

    def reset(self) -> None:
        self._offset, self._frozen = timedelta(0), None
