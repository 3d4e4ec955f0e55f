"""Switchable faults, per platform or per account."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

AUTH_FAULTS = {"token_expired", "token_revoked", "password_changed"}
CALL_FAULTS = {"rate_limited", "server_error", "slow", "quota_exhausted"}
WORLD_FAULTS = {"personal_account", "no_linked_page"}  # Meta: change what /me/accounts shows
FAULTS = AUTH_FAULTS | CALL_FAULTS | WORLD_FAULTS
DEFAULT_LATENCY_MS = 2000


@dataclass
class Fault:
    platform: str
    fault: str
    account: str | None = None  # None: every account of the platform
    latency_ms: int = DEFAULT_LATENCY_MS
    serial: int = 0  # token serial at the time the fault was set

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class FaultBoard:
    def __init__(self) -> None:
        self.faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        if fault.fault not in FAULTS:
            raise ValueError(f"unknown fault {fault.fault!r}; one of {sorted(FAULTS)}")
        self.faults = [
            f for f in self.faults if (f.platform, f.account, f.fault) != (fault.platform, fault.account, fault.fault)
        ]
        self.faults.append(fault)
        return fault

    def clear(self, platform: str | None = None, account: str | None = None, fault: str | None = None) -> int:
        keep = [
            f
            for f in self.faults
            if not (
                (platform is None or f.platform == platform)
                and (account is None or f.account == account)
                and (fault is None or f.fault == fault)
            )
        ]
        removed = len(self.faults) - len(keep)
        self.faults = keep
        return removed

    def matching(self, platform: str, accounts: Iterable[str | None]) -> list[Fault]:
        wanted = {a for a in accounts if a}
        return [f for f in self.faults if f.platform == platform and (f.account is None or f.account in wanted)]

    def has(self, platform: str, account: str | None, fault: str) -> bool:
        return any(f.fault == fault for f in self.matching(platform, [account]))
