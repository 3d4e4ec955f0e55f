"""Base schema for API payloads: snake_case fields, ORM objects readable, unknown fields refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

NUL_REASON = "Text must not contain the NUL character (\\u0000)."


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        """PostgreSQL cannot store U+0000 in text or JSON: refuse it here, naming each field, rather than
        let the database refuse the statement. Runs after the fields' own validators, so their reasons
        come first; nested schemas check their own fields."""
        found = [loc for name, value in self for loc in _nul_paths(value, (name,))]
        if found:
            error = PydanticCustomError("nul_character", NUL_REASON)
            raise ValidationError.from_exception_data(
                type(self).__name__, [InitErrorDetails(type=error, loc=loc, input=None) for loc in found]
            )
        return self


class Answer(BaseModel):
    """An answer built from stored figures and never parsed from a request: no NUL check (`Schema._no_nul`),
    which on a large answer (a report's creators, a link's 90 days) costs more than its SQL."""

    model_config = ConfigDict(extra="forbid")


def _nul_paths(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if "\x00" in value:
            yield loc
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _nul_paths(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield (*loc, key)
            yield from _nul_paths(item, (*loc, str(key)))


def strip_text(value: object) -> object:
    """Before-validator for names and free text: surrounding whitespace is never meaningful."""
    return value.strip() if isinstance(value, str) else value


def not_null(value: object) -> object:
    """For PATCH bodies: a field that may be left out, but not cleared."""
    if value is None or value == "":
        raise ValueError("must not be blank or null")
    return value
