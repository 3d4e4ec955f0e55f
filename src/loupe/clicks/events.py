"""A raw click as the redirect captures it: cheap to build, compact on the wire.

Heavy enrichment (user agent, country, visitor hash) happens in the flush, from these raw fields.
The raw IP travels through the buffer only; it is never written to PostgreSQL.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CLICK = "c"
ORPHAN = "o"


def new_click_id() -> str:
    return uuid.UUID(bytes=os.urandom(16), version=4).hex


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
        id_, at_us, kind, code, link_id, workspace_id, ip, ua, ref, head = item
        return cls(
            str(id_), int(at_us), str(kind), str(code), link_id, workspace_id, str(ip), str(ua), str(ref), bool(head)
        )


def encode_batch(items: list[list[Any]]) -> bytes:
    return orjson.dumps(items)


def decode_batch(payload: bytes | str) -> list[RawClick]:
    return [RawClick.from_wire(item) for item in orjson.loads(payload)]
