"""Pydantic types of the API contract: money as two-place decimal strings, local times."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from memberkit.kit.i18n import TextError, _
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
            raise TextError(
                _("not an amount with at most two decimal places: {value}"), value=value
            ) from exc
        if minor < 0:
            raise TextError(_("amounts must not be negative"))
        if minor > MAX_MINOR:
            raise TextError(_("amounts above 100,000,000.00 are not accepted"))
        return minor
    raise TextError(_('amounts are decimal strings such as "60.00"'))


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
        raise TextError(_("must be a time between 2000-01-01 and 2999-12-31"))
    return value


#: A time received from a client: an offset is required, and it must be plausible.
ClientTime = Annotated[AwareDatetime, AfterValidator(_plausible)]

#: A calendar date in a query (``from``/``to``), within the same plausible range.
QueryDate = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2999, 12, 31))]


#: Bounds on any value in a request body, typed or free-form (settings, event payloads): how
#: deeply it nests, how many items one list or object holds, how long one text is, and the
#: integers JSON carries exactly (and every database column holds). Typed fields set tighter
#: bounds of their own.
MAX_DEPTH = 8
MAX_ITEMS = 1000
MAX_TEXT = 2000
MAX_INTEGER = 2**53 - 1


def _plain(value: Any, path: str = "", depth: int = 0, wide: frozenset[str] = frozenset()) -> None:
    """Refuse what no field should hold, anywhere in a body.

    That is NUL characters (no database stores them faithfully), non-finite numbers, integers
    beyond :data:`MAX_INTEGER`, and values nested, long or wide beyond the bounds above. The
    lists at the top-level fields named in ``wide`` may hold more items (their own typed
    bound, such as a bulk issue's rows, decides); their items are bounded as usual.
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise TextError(_("{path}: text must not contain NUL characters"), path=path or ".")
        if len(value) > MAX_TEXT:
            raise TextError(
                _("{path}: text longer than {limit} characters"), path=path or ".", limit=MAX_TEXT
            )
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -MAX_INTEGER <= value <= MAX_INTEGER:
            raise TextError(
                _("{path}: integers must lie within ±{limit}"), path=path or ".", limit=MAX_INTEGER
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise TextError(_("{path}: numbers must be finite"), path=path or ".")
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise TextError(
                _("{path}: nested deeper than {limit} levels"), path=path or ".", limit=MAX_DEPTH
            )
        if len(value) > MAX_ITEMS and not (depth == 1 and path in wide):
            raise TextError(_("{path}: more than {limit} items"), path=path or ".", limit=MAX_ITEMS)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                _plain(key, where, depth + 1, wide)
            _plain(item, where, depth + 1, wide)


#: Characters no single-line text may hold: C0 and C1 controls (line breaks and tabs among
#: them, and NEL, U+0085), DEL, the line and paragraph separators (U+2028, U+2029), and the
#: bidirectional marks, embeddings, overrides and isolates that make a text display other than
#: it reads (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
#: The error type (and the problem's code) of a text holding one of them.
CONTROL_CHARACTERS = "control_characters"
#: What the API says of such a field, and what a console form says next to it.
CONTROL_PROBLEM = _(
    "must not contain control characters (line breaks, tabs or text-direction overrides)"
)
CONTROL_FIELD_MESSAGE = _(
    "This must not contain control characters (line breaks, tabs or text-direction overrides)."
)


def has_control_characters(text: str) -> bool:
    """Tell whether ``text`` holds a character :data:`CONTROL` names."""
    return CONTROL.search(text) is not None


def _one_line(value: str) -> str:
    if has_control_characters(value):
        raise PydanticCustomError(CONTROL_CHARACTERS, "text holds control characters")
    return value


#: The check of :data:`PlainText`, for a type that bounds its length first:
#: ``Annotated[str, Field(max_length=50), ONE_LINE]`` (a bound given after the check, or on a
#: union such as ``PlainText | None``, would be checked as a list's length, not a text's).
ONE_LINE = AfterValidator(_one_line)
#: Free text of one line (names, tags, reasons, notes, descriptions): control characters and
#: text-direction overrides refused (error type ``control_characters``). Bounds of length are
#: the field's own (``reason: PlainText = Field(max_length=200)``).
PlainText = Annotated[str, ONE_LINE]


class Input(BaseModel):
    """Base of request bodies: unknown fields refused, strings stripped, values bounded.

    Every value is kept within the bounds of :func:`_plain`; the outermost model finds a fault
    first and names its path.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    #: Top-level list fields bounded by their own ``max_length`` rather than :data:`MAX_ITEMS`.
    wide_lists: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        _plain(data, wide=cls.wide_lists)
        return data


class FreeInput(RootModel[Any]):
    """A free-form request body (a settings section's value), bounded like every body."""

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        _plain(data)
        return data


class Page(BaseModel):
    """Pagination of a listing."""

    page: int
    page_size: int
    total: int


PageNumber = Annotated[int, Field(ge=1, le=100_000)]
PageSize = Annotated[int, Field(ge=1, le=200)]


_INSTANT = TypeAdapter(datetime)


def in_utc(model: BaseModel, as_json: Any) -> Any:
    """Return ``as_json`` (``model`` dumped in JSON mode) with every instant written in UTC.

    So a request's fingerprint is the same whichever offset a client wrote the same instant
    in: ``10:00+08:00`` and ``02:00Z`` are one moment, and a retry that spells it otherwise is
    a replay, not a conflict. Instants already in UTC are left as they were written.
    """
    return _utc_like(model.model_dump(), as_json)


def _utc_like(python: Any, as_json: Any) -> Any:
    if isinstance(python, datetime) and python.tzinfo is not None:
        return _INSTANT.dump_python(python.astimezone(UTC), mode="json")
    if isinstance(python, dict) and isinstance(as_json, dict):
        return {k: _utc_like(python.get(k), v) for k, v in as_json.items()}
    if (
        isinstance(python, list | tuple)
        and isinstance(as_json, list)
        and len(python) == len(as_json)
    ):
        return [_utc_like(p, j) for p, j in zip(python, as_json, strict=True)]
    return as_json


#: The error type of an explicit null where a field may be left out but not cleared.
NOT_NULL = "not_null"


def refuse_null(value: Any) -> Any:
    """Refuse an explicit null (a PATCH field that may be left out, never cleared)."""
    if value is None:
        raise PydanticCustomError(NOT_NULL, "this field cannot be null")
    return value
