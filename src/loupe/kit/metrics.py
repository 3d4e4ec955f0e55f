"""Prometheus metrics shared by the processes."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Counter, Histogram, start_http_server

if TYPE_CHECKING:
    from loupe.config import Settings

log = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter("loupe_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "loupe_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS_ENQUEUED = Counter("loupe_jobs_enqueued_total", "Background jobs enqueued", ["function"])


def public_metrics_allowed(settings: Settings, authorization: str | None) -> bool:
    """Whether `/metrics` on the public port answers this request. With `metrics_port` it never does (the
    separate listener serves them); with `metrics_token` only to that bearer token; with neither, only
    outside production, so a production process never shows its figures to the internet by default."""
    if settings.metrics_port is not None:
        return False
    if settings.metrics_token is not None:
        expected = f"Bearer {settings.metrics_token.get_secret_value()}"
        return authorization is not None and hmac.compare_digest(authorization.encode(), expected.encode())
    return not settings.is_production


def start_metrics_listener(settings: Settings) -> None:
    """Serve the metrics on their own port (a thread of this process), when configured. A port already
    taken (a second uvicorn worker) is logged, not fatal: metrics never stop the product."""
    if settings.metrics_port is None:
        return
    try:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
    except OSError as exc:
        log.warning("metrics_listener_not_started", port=settings.metrics_port, error=str(exc))
        return
    log.info("metrics_listener_started", host=settings.metrics_host, port=settings.metrics_port)
