"""Daily salted visitor hash: counts unique visitors without keeping who they are.

The salt is derived from the secret key and the UTC day, so the same visitor hashes differently
tomorrow and a stored hash cannot be tied back to an IP without the key.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from functools import lru_cache


@lru_cache(maxsize=16)
def daily_salt(secret: str, day: date) -> bytes:
    return hmac.new(secret.encode(), f"visitor-salt:{day.isoformat()}".encode(), hashlib.sha256).digest()


def visitor_hash(secret: str, day: date, ip: str, user_agent: str) -> str:
    message = f"{ip}\x00{user_agent}".encode()
    return hmac.new(daily_salt(secret, day), message, hashlib.sha256).hexdigest()[:32]
