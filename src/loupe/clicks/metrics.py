"""Prometheus metrics of the click path (children bound once: the hot path only increments)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector


class Count:
    """One series of a FastCounter: `inc` is a plain int addition. Counter.inc takes a lock on every
    call, a few per cent of a redirect's CPU; these are only incremented on the event loop's thread."""

    __slots__ = ("_flushed", "_series", "value")

    def __init__(self, series: Counter) -> None:
        self.value = 0
        self._series = series
        self._flushed = 0  # how much of `value` the series already holds (the collector's, under its lock)

    def inc(self, amount: int = 1) -> None:
        self.value += amount

    def _flush(self) -> None:
        value = self.value  # one read: increments made meanwhile go to the next scrape
        if value != self._flushed:
            self._series.inc(value - self._flushed)
            self._flushed = value


class FastCounter(Collector):
    """A labelled Counter whose series count in plain ints (`Count`). It stays out of the registry; this
    collector stands in for it and adds what was counted to it at each scrape, so /metrics shows the
    Counter's very own output (names, help, type, `_created`), only never older than the scrape."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry = REGISTRY
    ) -> None:
        self._counter = Counter(name, documentation, labelnames, registry=None)
        self._counts: list[Count] = []
        self._lock = threading.Lock()  # scrapes may run at once (the metrics listener is threaded)
        registry.register(self)

    def labels(self, *values: str) -> Count:
        """A series, shown (at 0) from now on, as Counter.labels does."""
        count = Count(self._counter.labels(*values))
        self._counts.append(count)
        return count

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            for count in self._counts:
                count._flush()
        return self._counter.collect()

    def describe(self) -> Iterable[Metric]:
        return self._counter.describe()


REDIRECTS = FastCounter("loupe_redirects_total", "Answers of /l/{code}", ["status"])
CLICKS_BUFFERED = Counter("loupe_clicks_buffered_total", "Clicks made durable, by where", ["sink"])
CLICKS_FLUSHED = Counter("loupe_clicks_flushed_total", "Clicks moved into PostgreSQL", ["outcome"])
CLICKS_LOST = Counter("loupe_clicks_not_recorded_total", "Clicks neither Redis nor the spool took")

REDIRECT_302 = REDIRECTS.labels("302")
REDIRECT_404 = REDIRECTS.labels("404")
REDIRECT_410 = REDIRECTS.labels("410")
REDIRECT_503 = REDIRECTS.labels("503")
REDIRECT_429 = REDIRECTS.labels("429")
BUFFERED_REDIS = CLICKS_BUFFERED.labels("redis")
BUFFERED_SPOOL = CLICKS_BUFFERED.labels("spool")
