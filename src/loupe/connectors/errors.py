"""The closed set of failures every connector reports, whatever the platform said."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    AUTH_EXPIRED = "auth_expired"  # token lapsed: refresh or re-authorise
    AUTH_REVOKED = "auth_revoked"  # user removed the app / password changed: re-authorise
    PERMISSION_MISSING = "permission_missing"  # scope not granted or lost
    NOT_PROFESSIONAL_ACCOUNT = "not_professional_account"  # personal IG account / no linked Page
    RATE_LIMITED = "rate_limited"  # back off for `retry_after` seconds
    TRANSIENT = "transient"  # retry soon (5xx, network, platform hiccup)
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"  # our bug or a bad code/parameter: do not retry as is


class ConnectorError(Exception):
    """One exception type for every platform failure.

    `raw` is the platform's error payload (never a request, so never a token); messages are scrubbed
    of the token that was in use before they get here.
    """

    def __init__(
        self,
        kind: ErrorKind,
        platform: str,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | int | None = None,
        raw: Any = None,
    ) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.platform = platform
        self.message = message
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.raw = raw

    def __str__(self) -> str:
        return f"{self.platform}: {self.kind.value}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"ConnectorError(kind={self.kind.value!r}, platform={self.platform!r}, "
            f"message={self.message!r}, retry_after={self.retry_after!r}, status={self.status!r}, "
            f"code={self.code!r})"
        )

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.RATE_LIMITED, ErrorKind.TRANSIENT)

    @property
    def needs_reauth(self) -> bool:
        return self.kind in (ErrorKind.AUTH_EXPIRED, ErrorKind.AUTH_REVOKED)


def scrub(text: str, *secrets: str | None) -> str:
    """Remove secrets (tokens, client secrets) from text that may end up in logs."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
