"""Base schema for API payloads: snake_case fields, ORM objects readable, unknown fields refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")
