"""Prometheus metrics of the click path (children bound once: the hot path only increments)."""

from __future__ import annotations

from prometheus_client import Counter

REDIRECTS = Counter("loupe_redirects_total", "Answers of /l/{code}", ["status"])
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
