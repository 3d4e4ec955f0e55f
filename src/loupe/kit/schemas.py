"""Base schema for API payloads: snake_case fields, ORM objects readable, unknown fields refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


def strip_text(value: object) -> object:
    """Before-validator for names and free text: surrounding whitespace is never meaningful."""
    return value.strip() if isinstance(value, str) else value


def not_null(value: object) -> object:
    """For PATCH bodies: a field that may be left out, but not cleared."""
    if value is None or value == "":
        raise ValueError("must not be blank or null")
    return value
