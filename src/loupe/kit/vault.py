"""Secrets at rest: platform tokens (and the creator-session cookie) under MultiFernet.

The first key encrypts, every key decrypts, so a key is rotated by putting a new one first, running
`loupe tokens rotate`, then dropping the old one. Production takes LOUPE_TOKEN_KEYS (Settings refuses to
start without it); development and tests generate one key, once, into data_dir/token-keys.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from loupe.config import Environment, Settings

KEYS_FILE = "token-keys"


class VaultError(Exception):
    """A value that does not decrypt under any key (tampered, or encrypted under a dropped key)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def dev_keys(data_dir: Path) -> list[str]:
    """The development key file, created (0600) on first use. Processes starting together agree on one
    key: the file appears whole (written aside, then hard-linked into place), and the first link wins."""
    path = data_dir / KEYS_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        aside = data_dir / f".{KEYS_FILE}.{os.getpid()}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_key() + "\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class TokenVault:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one token key is needed")
        self.keys = list(keys)
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:  # never echo the key itself
            raise ValueError(
                "LOUPE_TOKEN_KEYS holds a malformed key: each must be 32 url-safe base64-encoded bytes "
                "(generate one with `loupe tokens new-key`)"
            ) from exc

    @classmethod
    def of(cls, settings: Settings) -> TokenVault:
        if settings.token_keys:
            return cls([key.get_secret_value() for key in settings.token_keys])
        if settings.env is Environment.production:
            raise ValueError("LOUPE_TOKEN_KEYS is required in production")
        return cls(dev_keys(settings.data_dir))

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str, *, ttl: int | None = None) -> str:
        try:
            return self._fernet.decrypt(value.encode(), ttl=ttl).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise VaultError("the value does not decrypt under any configured key") from exc

    def rotate(self, value: str) -> str:
        """Re-encrypt under the first key (a no-op in meaning, a new ciphertext in fact)."""
        try:
            return self._fernet.rotate(value.encode()).decode()
        except InvalidToken as exc:
            raise VaultError("the value does not decrypt under any configured key") from exc

    def seal(self, payload: Any) -> str:
        return self.encrypt(json.dumps(payload, separators=(",", ":")))

    def unseal(self, value: str, *, ttl: int | None = None) -> Any:
        return json.loads(self.decrypt(value, ttl=ttl))
