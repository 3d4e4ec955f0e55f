"""Structured logs: JSON lines in production (every line of a request carries its request id), or
human-readable console lines (`LOUPE_LOG_JSON=false`, what `loupe dev` runs its processes with)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from loupe.kit.security import KEY_PREFIX

# arq's lines for a job's start and end (see arq.worker.Worker.run_job); a cron job's id starts "cron:".
_ARQ_JOB_LINES = ("%6.2fs → %s(%s)%s", "%6.2fs ← %s ● %s")


class _QuietCronRuns(logging.Filter):
    """arq logs the start and end of every job at INFO, and its job counters whenever they change: for
    cron jobs (the click flush runs every two seconds) that is noise, so those lines become DEBUG.
    Failures, retries and other jobs' lines are untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        cron_run = record.msg in _ARQ_JOB_LINES and str(record.args[1]).startswith("cron:")  # type: ignore[index]
        if not (cron_run or str(record.msg).startswith("recording health")):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_quiet_cron_runs = _QuietCronRuns()

# Credentials that may reach a log line through a URL, a header or an error text: query parameters of OAuth
# and platform calls, bearer tokens, and Loupe's own API keys.
_SECRET_PARAMS = re.compile(
    r"(?i)\b(access_token|refresh_token|client_secret|fb_exchange_token|input_token|code_verifier|code|token"
    r"|password|api_key|hub\.verify_token)=([^&\s\"']+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_API_KEY = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} ***", text)
    return _API_KEY.sub(KEY_PREFIX + "***", text)


def _redact_event(logger: Any, name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Every string of every line, ours or a library's, goes through `redact` before it is rendered."""
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def configure_logging(level: str = "INFO", json: bool = True, colors: bool | None = None) -> None:
    """`colors` applies to console lines (`LOUPE_LOG_COLORS`); None: when stderr is a terminal."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty() if colors is None else colors)
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _redact_event, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_CurrentStderr,
        cache_logger_on_first_use=True,
    )
    # Route the standard library (uvicorn, arq, sqlalchemy) through the same renderer; uvicorn runs with
    # log_config=None so it installs no handlers of its own.
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _redact_event, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("arq.worker").addFilter(_quiet_cron_runs)
    # httpx logs full request URLs at INFO (redacted like every line, but one per platform call is noise).
    # The api logs each request itself (loupe.http), so uvicorn's access lines would only repeat it.
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _CurrentStderr:
    """Prints each line to `sys.stderr` as it is now, not as it was at configure time (a test runner
    or a daemon may swap it, and a cached logger must not keep writing to a closed stream)."""

    def __init__(self, *_args: object) -> None:
        pass

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg
