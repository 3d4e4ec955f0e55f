"""Cursor pagination: one opaque cursor format and one list envelope for every collection."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from loupe.config import get_settings
from loupe.kit.errors import ValidationFailed

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a collection, newest first. Pass `next_cursor` as `cursor` to get the next page."""

    data: list[T]
    next_cursor: str | None = Field(description="Opaque cursor of the next page; null on the last page.")
    has_more: bool

    @classmethod
    def of(cls, items: Sequence[Any], next_cursor: str | None) -> Self:
        """Build a page from ORM rows, dicts or items, and the cursor `build_page` returned."""
        return cls.model_validate(
            {"data": items, "next_cursor": next_cursor, "has_more": next_cursor is not None}, from_attributes=True
        )


class PageParams(BaseModel):
    cursor: str | None = None
    limit: int = 50


def _limit_bounds() -> int:
    return get_settings().page_limit_max


def page_params(
    cursor: Annotated[str | None, Query(description="Opaque cursor from a previous page's `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page (1-200).")] = 50,
) -> PageParams:
    return PageParams(cursor=cursor, limit=min(limit, _limit_bounds()))


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(id_)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, id_ = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created_at), uuid.UUID(id_)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise ValidationFailed.on("query.cursor", "Not a cursor returned by this API.") from exc


def keyset(
    stmt: Select[Any],
    params: PageParams,
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[uuid.UUID],
) -> Select[Any]:
    """Newest-first keyset pagination on (created_at, id); fetches one extra row to know `has_more`."""
    if params.cursor:
        at, last_id = decode_cursor(params.cursor)
        stmt = stmt.where(or_(created_at < at, and_(created_at == at, id_ < last_id)))
    return stmt.order_by(created_at.desc(), id_.desc()).limit(params.limit + 1)


def build_page(rows: list[Any], params: PageParams) -> tuple[list[Any], str | None]:
    """Trim the extra row and compute the next cursor from the last item kept."""
    has_more = len(rows) > params.limit
    items = rows[: params.limit]
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if has_more and items else None
    return items, next_cursor
