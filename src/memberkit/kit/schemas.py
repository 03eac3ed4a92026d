"""Pydantic types of the API contract: money as two-place decimal strings, local times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from memberkit.kit.money import MoneyFormatError, format_money, parse_money
from memberkit.kit.time import iso

#: The largest amount one line, payment or order may carry (¥100,000,000.00): far above any
#: real sale, and small enough that points and their refund weights fit in 64-bit integers.
MAX_MINOR = 10_000_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def _to_minor(value: Any) -> int:
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            minor = parse_money(value)
        except MoneyFormatError as exc:
            raise ValueError(str(exc)) from exc
        if minor < 0:
            raise ValueError("amounts must not be negative")
        if minor > MAX_MINOR:
            raise ValueError("amounts above 100,000,000.00 are not accepted")
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


def _plausible(value: datetime) -> datetime:
    if value < EARLIEST or value.year > 2999:
        raise ValueError("must be a time between 2000-01-01 and 2999-12-31")
    return value


#: A time received from a client: an offset is required, and it must be plausible.
ClientTime = Annotated[AwareDatetime, AfterValidator(_plausible)]

#: A calendar date in a query (``from``/``to``), within the same plausible range.
QueryDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]


def _no_nul(value: Any) -> Any:
    """Refuse NUL characters anywhere in a body: no database stores them faithfully."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


class Input(BaseModel):
    """Base of request bodies: unknown fields and NUL characters are refused, strings stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        return _no_nul(data)


class Page(BaseModel):
    """Pagination of a listing."""

    page: int
    page_size: int
    total: int


PageNumber = Annotated[int, Field(ge=1, le=100_000)]
PageSize = Annotated[int, Field(ge=1, le=200)]
