"""The sandbox's shared state: world, clock, tokens, faults, meters and app credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from .callbacks import default_callbacks
from .clock import Clock
from .faults import AUTH_FAULTS, Fault, FaultBoard
from .limits import Limits, Meters
from .tokens import Token, TokenStore
from .world import DAY, PLATFORMS, World

AUTH_PROBLEM = {"token_expired": "expired", "token_revoked": "revoked", "password_changed": "password_changed"}
CallFault = Fault


def default_credentials() -> dict[str, tuple[str, str]]:
    return {p: (f"loupe-sandbox-{p}", f"sandbox-secret-{p}") for p in PLATFORMS}


class Sandbox:
    def __init__(
        self,
        seed: int = 42,
        clock: Clock | None = None,
        faults: object = None,
        credentials: Mapping[str, object] | None = None,
        callback_base: str | None = None,
    ) -> None:
        self.seed = seed
        self.callbacks = default_callbacks(callback_base)  # per app: the dashboard URLs removal calls
        # where the instagram app's Webhooks (story_insights) go; see sandbox/webhooks.py
        self.meta_webhook_url = f"{callback_base.rstrip('/')}/webhooks/meta" if callback_base else None
        self.clock = clock or Clock()
        # anchor on the start of the UTC day: a restart the same day rebuilds the very same timeline
        self.world = World(seed, anchor=(self.clock.now() // DAY) * DAY)
        self.tokens = TokenStore(seed)
        self.faults = faults if isinstance(faults, FaultBoard) else FaultBoard()
        if isinstance(faults, Iterable) and not isinstance(faults, FaultBoard | str):
            for spec in faults:
                self.add_fault(**spec) if isinstance(spec, Mapping) else self.faults.add(spec)
        self.limits = Limits()
        self.meters = Meters()
        self.credentials = default_credentials()
        for platform, cred in (credentials or {}).items():
            if isinstance(cred, Mapping):
                self.credentials[platform] = (str(cred["client_id"]), cred.get("client_secret") or "")
            else:
                pair: tuple[str, str | None] = cred  # type: ignore[assignment]
                self.credentials[platform] = (pair[0], pair[1] or "")

    def now(self) -> float:
        return self.clock.now()

    # ----- app credentials -----
    def client_platform(self, client_id: str | None, platforms: Iterable[str]) -> str | None:
        return next((p for p in platforms if client_id and self.credentials[p][0] == client_id), None)

    def secret_ok(self, platform: str, secret: str | None) -> bool:
        expected = self.credentials[platform][1]
        return expected == "" or secret == expected  # "" marks a public client (no secret)

    # ----- faults -----
    def add_fault(self, platform: str, fault: str, account: str | None = None, latency_ms: int | None = None) -> Fault:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}")
        if account is not None and self.world.account(platform, account) is None:
            raise ValueError(f"unknown {platform} account {account!r}")
        spec = Fault(platform=platform, fault=fault, account=account, serial=self.tokens.next_serial())
        if latency_ms is not None:
            spec.latency_ms = int(latency_ms)
        return self.faults.add(spec)

    def token_problem(self, token: Token) -> str | None:
        """None when usable; else expired | revoked | password_changed | data_access_expired."""
        if token.revoked:
            return "revoked"
        keys = [(token.platform, token.account_id)] + ([token.origin] if token.origin else [])
        for platform, account in keys:
            for fault in self.faults.matching(platform, [account]):
                if fault.fault in AUTH_FAULTS and token.serial <= fault.serial:
                    return AUTH_PROBLEM[fault.fault]
        now = self.now()
        if token.expired(now):
            return "expired"
        if token.data_access_expires_at is not None and now >= token.data_access_expires_at:
            return "data_access_expired"
        return None

    async def call_fault(self, platform: str, accounts: Iterable[str | None]) -> Fault | None:
        """Apply latency, then return the first call-level fault (rate/quota/5xx) to render, if any."""
        found = self.faults.matching(platform, accounts)
        slow = [f for f in found if f.fault == "slow"]
        if slow:
            await asyncio.sleep(max(f.latency_ms for f in slow) / 1000)
        for name in ("quota_exhausted", "rate_limited", "server_error"):
            for fault in found:
                if fault.fault == name:
                    return fault
        return None


FAMILY = {"tiktok": "tiktok", "youtube": "google", "twitter": "x", "twitch": "twitch"}


def issue_pair(
    sandbox: Sandbox,
    *,
    platform: str,
    account_id: str,
    user_id: str,
    scopes: list[str],
    client_id: str,
    lifetime: float,
    refresh_lifetime: float | None,
    with_refresh: bool,
    keep_refresh: str | None = None,
) -> Token:
    """Access token (+ refresh token) for the OAuth 2 platforms; `keep_refresh` reuses an existing one."""
    family = FAMILY[platform]
    now = sandbox.now()
    access = sandbox.tokens.issue(
        platform=platform,
        family=family,
        account_id=account_id,
        user_id=user_id,
        scopes=scopes,
        client_id=client_id,
        now=now,
        lifetime=lifetime,
    )
    if keep_refresh:
        access.refresh = keep_refresh
    elif with_refresh:
        refresh = sandbox.tokens.issue(
            platform=platform,
            family=family,
            kind="refresh",
            account_id=account_id,
            user_id=user_id,
            scopes=scopes,
            client_id=client_id,
            now=now,
            lifetime=refresh_lifetime,
        )
        access.refresh = refresh.value
    return access
