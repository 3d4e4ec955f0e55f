"""Authorization codes, access and refresh tokens issued by the emulated platforms."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

# Token string shapes loosely follow each platform so logs look familiar.
PREFIX = {"fb": "EAAL", "ig": "IGAA", "tiktok": "act.", "google": "ya29.", "x": "", "twitch": ""}
REFRESH_PREFIX = {"tiktok": "rft.", "google": "1//0", "x": "", "twitch": "", "fb": "", "ig": ""}


@dataclass
class AuthCode:
    value: str
    platform: str
    family: str  # fb | ig | tiktok | google | x | twitch: which hosts accept what it yields
    account_id: str
    user_id: str
    targets: list[str]
    scopes: list[str]
    client_id: str
    redirect_uri: str
    issued_at: float
    expires_at: float
    code_challenge: str | None = None
    challenge_method: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    used: bool = False


@dataclass
class Token:
    value: str
    platform: str
    family: str
    kind: str  # access | refresh | page | app
    account_id: str
    user_id: str
    scopes: list[str]
    client_id: str
    issued_at: float
    expires_at: float | None  # None: never expires (Page tokens, some refresh tokens)
    serial: int  # issue order; a fault set later invalidates every token with a smaller serial
    targets: list[str] = field(default_factory=list)  # Meta: Pages / IG accounts granted
    long_lived: bool = False
    refresh: str | None = None  # access tokens: the refresh token issued with them
    origin: tuple[str, str] | None = None  # page tokens: the (platform, account) of the user token
    data_access_expires_at: float | None = None
    revoked: bool = False
    rotated: bool = False  # refresh tokens already exchanged (TikTok rotation)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def expires_in(self, now: float) -> int:
        """Whole seconds left (introspection answers: debug_token, validate, tokeninfo)."""
        return 0 if self.expires_at is None else max(0, int(self.expires_at - now))

    def lifetime(self) -> int:
        """The lifetime granted at issue, in whole seconds: what a token answer reports as `expires_in`.

        Never `expires_in(now)`: on a running clock a few microseconds pass between issuing and answering,
        and truncating 7199.9999 said 7199 where the platforms say 7200.
        """
        return 0 if self.expires_at is None else round(self.expires_at - self.issued_at)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class TokenStore:
    """In-memory store; strings derive from (seed, counter) so runs are reproducible."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._serial = 0
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, Token] = {}

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _string(self, prefix: str, length: int = 40) -> str:
        raw = hashlib.sha256(f"{self._seed}:{self.next_serial()}:{prefix}".encode()).digest()
        body = base64.urlsafe_b64encode(raw + hashlib.sha256(raw).digest()).decode().rstrip("=")
        body = body.replace("-", "Z").replace("_", "Q")  # keep tokens safe inside URLs and headers
        return prefix + body[:length]

    def new_code(self, **fields: object) -> AuthCode:
        code = AuthCode(value=self._string("", 48), **fields)  # type: ignore[arg-type]
        self.codes[code.value] = code
        return code

    def take_code(self, value: str, now: float) -> tuple[AuthCode | None, str]:
        """Consume a code once. Returns (code, "") or (None, reason: unknown | used | expired)."""
        code = self.codes.get(value)
        if code is None:
            return None, "unknown"
        if code.used:
            return None, "used"
        code.used = True
        if now >= code.expires_at:
            return None, "expired"
        return code, ""

    def issue(
        self,
        *,
        platform: str,
        family: str,
        account_id: str,
        user_id: str,
        scopes: list[str],
        client_id: str,
        now: float,
        lifetime: float | None,
        kind: str = "access",
        targets: list[str] | None = None,
        long_lived: bool = False,
        origin: tuple[str, str] | None = None,
        data_access_days: float | None = None,
    ) -> Token:
        prefix = REFRESH_PREFIX[family] if kind == "refresh" else PREFIX[family]
        length = {"twitch": 30, "x": 80}.get(family, 120 if family in {"fb", "ig"} else 60)
        value = self._string(prefix, length)
        if family == "twitch":
            value = value.lower()
        token = Token(
            value=value,
            platform=platform,
            family=family,
            kind=kind,
            account_id=account_id,
            user_id=user_id,
            scopes=list(scopes),
            client_id=client_id,
            issued_at=now,
            expires_at=None if lifetime is None else now + lifetime,
            serial=self._serial,
            targets=list(targets or []),
            long_lived=long_lived,
            origin=origin,
            data_access_expires_at=None if data_access_days is None else now + data_access_days * 86400,
        )
        self.tokens[value] = token
        return token

    def get(self, value: str | None) -> Token | None:
        return self.tokens.get(value) if value else None

    def revoke(self, value: str) -> bool:
        token = self.tokens.get(value)
        if token is None:
            return False
        token.revoked = True
        # revoking either half of a grant kills the other half, as on Google / TikTok / X / Twitch
        for other in self.tokens.values():
            if other.refresh == value or (token.refresh and other.value == token.refresh):
                other.revoked = True
        return True
