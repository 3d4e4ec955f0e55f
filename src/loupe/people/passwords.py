"""Passwords: Argon2id hashes (pwdlib), a minimum length and a small list of passwords everyone tries first.

Hashing takes tens of milliseconds of CPU on purpose, so it runs in a thread, off the event loop. A sign-in
for an unknown email verifies against a dummy hash: it costs what a wrong password costs (no timing oracle).
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 12
MAX_LENGTH = 256
_HASHER = PasswordHash((Argon2Hasher(),))  # Argon2id, the library's (OWASP's) default costs
_COMMON = Path(__file__).with_name("common-passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    lines = (line.strip().lower() for line in _COMMON.read_text().splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def weakness(password: str, email: str = "") -> str | None:
    """Why the password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        return "This password is too common; choose another."
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in lowered:
        return "The password must not contain your email address."
    return None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Checks against the stored hash, or (unknown person) against a dummy one and answers False."""
    if password_hash is None:
        await asyncio.to_thread(_HASHER.verify, password, _dummy_hash())
        return False
    return await asyncio.to_thread(_HASHER.verify, password, password_hash)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("a password nobody has, for unknown emails")
