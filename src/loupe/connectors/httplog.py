"""Keep platform secrets out of httpx's request log.

httpx logs every request URL at INFO (`HTTP Request: GET https://...`). Meta's token endpoints only
take their secrets in the query string (client_secret, the code, fb_exchange_token, input_token, the
app token, Instagram's access_token), so the connectors blank those values in httpx's records, whatever
logging the application configures.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

SECRET_PARAMS = frozenset(
    {
        "access_token",
        "client_secret",
        "code",
        "code_verifier",
        "fb_exchange_token",
        "input_token",
        "refresh_token",
        "token",
    }
)
REDACTED = "***"


def redact_url(url: str) -> str:
    """The URL with the values of secret query parameters replaced by ***."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k in SECRET_PARAMS for k, _ in pairs):
        return url
    query = urlencode([(k, REDACTED if k in SECRET_PARAMS else v) for k, v in pairs], safe="*,")
    return urlunsplit(parts._replace(query=query))


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(a)) if isinstance(a, httpx.URL) or (isinstance(a, str) and "?" in a) else a
                for a in record.args
            )
        return True


def install() -> None:
    """Idempotent: one filter on the `httpx` logger."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
        logger.addFilter(RedactSecretsFilter())
