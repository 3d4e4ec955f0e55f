"""Meta Graph error codes -> our error kinds (reference §0.4)."""

from __future__ import annotations

from ..errors import ErrorKind

AUTH_EXPIRED_SUBCODES = {463}
AUTH_REVOKED_SUBCODES = {458, 459, 460, 464, 467, 492}
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001, 80002, 80003, 80004, 80005, 80006, 80008, 80014, 341, 368}
TRANSIENT_CODES = {1, 2}
NOT_ENOUGH_VIEWERS = "not_enough_viewers"


def meta_error_kind(code: int | None, subcode: int | None, message: str, status: int) -> ErrorKind:
    msg = message.lower()
    if code in (190, 102):
        if subcode in AUTH_EXPIRED_SUBCODES:
            return ErrorKind.AUTH_EXPIRED
        if subcode in AUTH_REVOKED_SUBCODES:
            return ErrorKind.AUTH_REVOKED
        # No subcode: Meta's message is the only hint whether it lapsed or was withdrawn.
        return ErrorKind.AUTH_EXPIRED if "expired" in msg else ErrorKind.AUTH_REVOKED
    if code in RATE_LIMIT_CODES:
        return ErrorKind.RATE_LIMITED
    if code in TRANSIENT_CODES:
        # Code 1 also reports a wrong client secret: a configuration error, retrying will not help.
        return ErrorKind.BAD_REQUEST if "client secret" in msg else ErrorKind.TRANSIENT
    if code == 10 or code == 3 or (code is not None and 200 <= code <= 299):
        return ErrorKind.PERMISSION_MISSING
    if code == 100:
        return ErrorKind.NOT_FOUND if subcode == 33 else ErrorKind.BAD_REQUEST
    if code == 803:  # "Some of the aliases you requested do not exist"
        return ErrorKind.NOT_FOUND
    if status >= 500:
        return ErrorKind.TRANSIENT
    if status == 404:
        return ErrorKind.NOT_FOUND
    if status == 429:
        return ErrorKind.RATE_LIMITED
    return ErrorKind.BAD_REQUEST


def is_not_enough_viewers(code: int | None, message: str) -> bool:
    """Stories under 5 viewers answer (#10) "Not enough viewers for the media to show insights"."""
    return code == 10 and "not enough viewers" in message.lower()
