"""A raw click as the redirect captures it: cheap to build, compact on the wire.

Heavy enrichment (user agent, country, visitor hash) happens in the flush, from these raw fields.
The raw IP travels through the buffer only; it is never written to PostgreSQL.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog

log = structlog.get_logger("loupe.clicks.events")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_US = 253402300800_000000  # 10000-01-01: the end of Python's datetime
CLICK = "c"
ORPHAN = "o"


# Click ids are made _BATCH at a time from one os.urandom call: a syscall and an int formatted per click
# cost more than the rest of the redirect's click. Each 16 random bytes make one id, used once; version 4
# and the RFC 4122 variant are set on every id of the block, as uuid.UUID(version=4) sets them.
_BATCH = 256
_VERSION = bytes(b & 0x0F | 0x40 for b in range(256))  # byte 6: version 4 in its high nibble
_VARIANT = bytes(b & 0x3F | 0x80 for b in range(256))  # byte 8: 0b10 in its two high bits
_ids: list[str] = []
# A forked child starts with none: it must never hand out ids its parent holds too.
os.register_at_fork(after_in_child=_ids.clear)


def _refill() -> None:
    block = bytearray(os.urandom(16 * _BATCH))
    block[6::16] = block[6::16].translate(_VERSION)
    block[8::16] = block[8::16].translate(_VARIANT)
    text = block.hex()
    _ids.extend([text[i : i + 32] for i in range(0, 32 * _BATCH, 32)])


def new_click_id() -> str:
    """A random version-4 UUID as 32 hex digits. list.pop is atomic: threads never share an id."""
    while True:
        try:
            return _ids.pop()
        except IndexError:
            _refill()


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(slots=True)
class RawClick:
    id: str  # uuid hex; also the `lp_click` parameter the destination receives
    at_us: int  # epoch microseconds, UTC; with `id` the primary key, so it never changes
    kind: str  # CLICK or ORPHAN
    code: str
    link_id: str | None
    workspace_id: str | None
    ip: str
    user_agent: str
    referrer: str
    head: bool

    @property
    def at(self) -> datetime:
        return EPOCH + timedelta(microseconds=self.at_us)  # exact: no float on the way

    def wire(self) -> list[Any]:
        return [
            self.id,
            self.at_us,
            self.kind,
            self.code,
            self.link_id,
            self.workspace_id,
            self.ip,
            self.user_agent,
            self.referrer,
            1 if self.head else 0,
        ]

    @classmethod
    def from_wire(cls, item: list[Any]) -> RawClick:
        """Raises on anything PostgreSQL would refuse: a bad item is left out, not retried with its batch forever."""
        id_, at_us, kind, code, link_id, workspace_id, ip, ua, ref, head = item
        if not 0 <= int(at_us) < MAX_US:
            raise ValueError("click time out of range")
        return cls(
            uuid_hex(id_),
            int(at_us),
            str(kind),
            _text(code),
            None if link_id is None else uuid_hex(link_id),
            None if workspace_id is None else uuid_hex(workspace_id),
            _text(ip),
            _text(ua),
            _text(ref),
            bool(head),
        )


_HEX32 = re.compile("[0-9a-f]{32}")


def uuid_hex(value: Any) -> str:
    # What the redirect writes (32 lowercase hex digits) is checked by a regex: a uuid.UUID per id cost
    # more than a tenth of the flush. Any other spelling uuid.UUID accepts is normalised by it.
    if type(value) is str and _HEX32.fullmatch(value):
        return value
    return uuid.UUID(hex=str(value)).hex


def _text(value: Any) -> str:
    # A visitor controls these (`/l/%00` puts a NUL in the code): PostgreSQL text cannot hold NUL.
    return str(value).replace("\x00", "\ufffd")


def encode_batch(items: list[list[Any]]) -> bytes:
    return orjson.dumps(items)


def decode_batch(payload: bytes | str) -> list[RawClick]:
    """The clicks of a batch. An item that cannot be stored is logged and left out: retrying cannot
    fix it, and it must not hold back the other clicks of its batch."""
    clicks = []
    for item in orjson.loads(payload):
        try:
            clicks.append(RawClick.from_wire(item))
        except (ValueError, TypeError) as exc:
            log.error("click_item_malformed", error=type(exc).__name__)
    return clicks
