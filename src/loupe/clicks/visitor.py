"""Daily salted visitor hash: counts unique visitors without keeping who they are.

Each UTC day has its own random salt, stored in `visitor_salts` so every flusher of every process
hashes a visitor the same way that day, and deleted once the day is over (`maintain_clicks`). After
that, nobody (not even someone holding the secret key) can tie a stored hash back to an IP.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import date
from typing import Any

SALT_BYTES = 32

ADD_SALTS = """
INSERT INTO visitor_salts (day, salt) SELECT * FROM unnest($1::date[], $2::bytea[])
ON CONFLICT DO NOTHING
"""
GET_SALTS = "SELECT day, salt FROM visitor_salts WHERE day = ANY($1::date[])"


async def daily_salts(conn: Any, days: Iterable[date]) -> dict[date, bytes]:
    """The salt of each day, created on first use (the first writer wins; others read its salt)."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    await conn.execute(ADD_SALTS, wanted, [secrets.token_bytes(SALT_BYTES) for _ in wanted])
    return {row["day"]: bytes(row["salt"]) for row in await conn.fetch(GET_SALTS, wanted)}


def keyed(salt: bytes) -> hmac.HMAC:
    """The salt's HMAC state, made once per batch and day: a copy of it costs a third less than keying
    an HMAC per click. Not kept beyond the batch, so a deleted salt lives on in no process."""
    return hmac.new(salt, digestmod="sha256")


def visitor_hash(salt: bytes | hmac.HMAC, ip: str, user_agent: str) -> str:
    state = salt.copy() if isinstance(salt, hmac.HMAC) else keyed(salt)
    state.update(f"{ip}\x00{user_agent}".encode())
    return state.hexdigest()[:32]
