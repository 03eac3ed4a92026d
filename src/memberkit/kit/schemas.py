"""Pydantic types of the API contract: money as two-place decimal strings, local times."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from memberkit.kit.money import MoneyFormatError, format_money, parse_money
from memberkit.kit.time import iso


def _to_minor(value: Any) -> int:
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            minor = parse_money(value)
        except MoneyFormatError as exc:
            raise ValueError(str(exc)) from exc
        if minor < 0:
            raise ValueError("amounts must not be negative")
        return minor
    raise ValueError('amounts are decimal strings such as "60.00"')


#: Money in the API: ``"60.00"`` on the wire, integer minor units (分) inside.
Money = Annotated[
    int,
    BeforeValidator(_to_minor),
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["60.00"]}),
]

#: Money in a response: built from minor units, shown as ``"60.00"``.
MoneyOut = Annotated[
    int,
    PlainSerializer(format_money, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["60.00"]}),
]

#: A time shown in the program's timezone, ISO 8601 with offset.
LocalTime = Annotated[datetime, PlainSerializer(lambda v: iso(v), return_type=str)]

#: A time received from a client: an offset is required.
ClientTime = AwareDatetime


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel):
    """Pagination of a listing."""

    page: int
    page_size: int
    total: int


PageNumber = Annotated[int, Field(ge=1, le=100_000)]
PageSize = Annotated[int, Field(ge=1, le=200)]
