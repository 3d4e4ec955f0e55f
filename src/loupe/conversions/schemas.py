from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from pydantic import Field, field_validator, model_validator

from loupe.kit.schemas import Schema, strip_text


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies)


class ConversionCreate(Schema):
    click_id: uuid.UUID = Field(description="The `lp_click` value the destination received.")
    event: str = Field(min_length=1, max_length=100, examples=["purchase"])
    value: Decimal | None = Field(
        default=None, ge=0, max_digits=18, decimal_places=4, description="Amount, in `currency`.", examples=["49.90"]
    )
    currency: str | None = Field(default=None, description="ISO 4217 code; required with `value`.", examples=["EUR"])
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="Your id of this event (order id…): the idempotency key within the workspace.",
        examples=["order-10023"],
    )

    _strip = field_validator("event", "external_id", mode="before")(strip_text)

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().upper()
        if code not in _currencies():
            raise ValueError("must be an ISO 4217 currency code, e.g. EUR")
        return code

    @model_validator(mode="after")
    def _value_needs_currency(self) -> ConversionCreate:
        if self.value is not None and self.currency is None:
            raise ValueError("`currency` is required when `value` is given")
        return self


class ConversionRead(Schema):
    id: uuid.UUID
    click_id: uuid.UUID
    link_id: uuid.UUID
    event: str
    value: Decimal | None
    currency: str | None
    external_id: str
    clicked_at: datetime
    created_at: datetime
