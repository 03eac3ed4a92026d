"""The rule tree of a segment (pure): groups of conditions, their fields, ops and validation.

A definition is a group: ``{"all": [...]}`` (every item holds: AND) or ``{"any": [...]}`` (at
least one holds: OR), whose items are conditions or groups again, nested at most
:data:`MAX_DEPTH` deep and :data:`MAX_CONDITIONS` conditions in all. A condition is
``{"field": …, "op": …, "value": …}``, with ``"days": N`` when its field counts behaviour in
a window of the last N days (spend, orders, purchases, expiring points); at most
:data:`MAX_WINDOWS` conditions of a definition have a window. Dates lie within
:data:`EARLIEST_DATE` and :data:`LATEST_DATE`.

Fields are declared by :class:`FieldSpec` (name, label, type, allowed ops, whether it has a
window); which SQL a field compiles to lives in :mod:`memberkit.segment.compiler`. A refused
definition says where: ``all[2].any[0]: unknown field "colour"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from memberkit.errors import InvalidInput
from memberkit.kit.i18n import Text, _

#: How deep groups may nest (the top group is depth 1).
MAX_DEPTH = 4
#: How many conditions one definition may hold.
MAX_CONDITIONS = 50
#: How many values one ``in`` / ``any_of`` list may hold, and how long each may be.
MAX_VALUES = 100
MAX_TEXT = 64
#: The longest window of a behaviour condition, in days.
MAX_DAYS = 3650
#: The largest number a condition may compare with (money in minor units, points, counts).
MAX_NUMBER = 10**15
#: The dates a condition may compare with: far enough for any member's, and away from the
#: calendar's ends (a day's bounds in any timezone stay representable).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
#: How many conditions over a window of behaviour (spend, orders, purchases, expiring points)
#: one definition may hold: each is an aggregate over the orders or lots, the costly part.
MAX_WINDOWS = 10


class FieldType(StrEnum):
    """What a field holds, which decides its ops and the type of its value."""

    choice = "choice"  # one of fixed choices (gender, channel, status)
    code = "code"  # a code the program defines (tier, store, category)
    tags = "tags"  # a set of codes the member has (tags; stores, categories bought in)
    number = "number"  # a count or points (integers)
    money = "money"  # minor units (integers)
    date = "date"  # a local date (YYYY-MM-DD)


class Op(StrEnum):
    """How a condition compares its field with its value."""

    eq = "eq"
    ne = "ne"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    between = "between"  # [low, high], both included
    in_ = "in"
    not_in = "not_in"
    any_of = "any_of"
    all_of = "all_of"
    none_of = "none_of"


ORDERED = (Op.eq, Op.ne, Op.gt, Op.gte, Op.lt, Op.lte, Op.between)
#: The ops each type allows.
OPS: Mapping[FieldType, tuple[Op, ...]] = {
    FieldType.choice: (Op.eq, Op.ne, Op.in_, Op.not_in),
    FieldType.code: (Op.eq, Op.ne, Op.in_, Op.not_in),
    FieldType.tags: (Op.any_of, Op.all_of, Op.none_of),
    FieldType.number: ORDERED,
    FieldType.money: ORDERED,
    FieldType.date: ORDERED,
}
OP_NAMES: Mapping[Op, str] = {
    Op.eq: _("is"),
    Op.ne: _("is not"),
    Op.gt: _("more than"),
    Op.gte: _("at least"),
    Op.lt: _("less than"),
    Op.lte: _("at most"),
    Op.between: _("between"),
    Op.in_: _("is one of"),
    Op.not_in: _("is none of"),
    Op.any_of: _("has any of"),
    Op.all_of: _("has all of"),
    Op.none_of: _("has none of"),
}


@dataclass(frozen=True)
class FieldSpec:
    """A field a condition may name: what it is called, holds and allows."""

    name: str
    label: str
    type: FieldType
    #: Counted over the last ``days`` days: the condition must say how many.
    window: bool = False
    #: The values a ``choice`` field allows.
    choices: tuple[str, ...] = ()

    @property
    def ops(self) -> tuple[Op, ...]:
        """The ops this field allows."""
        return OPS[self.type]


@dataclass(frozen=True)
class Condition:
    """One validated condition; ``value`` is typed (int, date, str, or a tuple of them)."""

    field: str
    op: Op
    value: Any
    days: int | None = None


@dataclass(frozen=True)
class Group:
    """AND (``all``) or OR (``any``) of conditions and groups."""

    all: bool
    items: tuple[Condition | Group, ...]

    def conditions(self) -> list[Condition]:
        """Every condition of the tree, depth first."""
        found: list[Condition] = []
        for item in self.items:
            found.extend(item.conditions() if isinstance(item, Group) else [item])
        return found


class InvalidDefinition(InvalidInput):
    """A segment's rule is wrong somewhere; the message names where."""

    code = "invalid_segment_definition"
    message = _("The segment's rule is not valid: {path}: {problem}")


def _refuse(path: str, problem: Text) -> InvalidDefinition:
    return InvalidDefinition(path=path or "rule", problem=problem)


def parse(raw: Any, fields: Mapping[str, FieldSpec]) -> Group:
    """Validate a definition as sent (plain JSON) and return its tree, or refuse naming where."""
    count = [0, 0]
    return _group(raw, "", 1, fields, count)


def _group(
    raw: Any, path: str, depth: int, fields: Mapping[str, FieldSpec], count: list[int]
) -> Group:
    """A group at ``path``; ``count`` holds the conditions and the windowed ones seen so far."""
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
        raise _refuse(path, Text(_('a group is {"all": [...]} or {"any": [...]}')))
    if depth > MAX_DEPTH:
        raise _refuse(path, Text(_("groups nest at most {depth} deep"), depth=MAX_DEPTH))
    ((kind, items),) = raw.items()
    if not isinstance(items, list) or not items:
        raise _refuse(path, Text(_("a group needs at least one condition")))
    parsed: list[Condition | Group] = []
    for index, item in enumerate(items):
        where = f"{path}{'.' if path else ''}{kind}[{index}]"
        if isinstance(item, dict) and ("all" in item or "any" in item):
            parsed.append(_group(item, where, depth + 1, fields, count))
        else:
            count[0] += 1
            if count[0] > MAX_CONDITIONS:
                raise _refuse(
                    where, Text(_("a rule holds at most {count} conditions"), count=MAX_CONDITIONS)
                )
            condition = _condition(item, where, fields)
            if fields[condition.field].window:
                count[1] += 1
                if count[1] > MAX_WINDOWS:
                    raise _refuse(
                        where,
                        Text(
                            _(
                                "a rule holds at most {count} conditions over a window of days"
                                " (spend, orders, purchases, expiring points)"
                            ),
                            count=MAX_WINDOWS,
                        ),
                    )
            parsed.append(condition)
    return Group(kind == "all", tuple(parsed))


def _condition(raw: Any, path: str, fields: Mapping[str, FieldSpec]) -> Condition:
    if not isinstance(raw, dict) or not {"field", "op"} <= raw.keys():
        raise _refuse(path, Text(_('a condition is {"field": …, "op": …, "value": …}')))
    extra = set(raw) - {"field", "op", "value", "days"}
    if extra:
        raise _refuse(path, Text(_("unknown key {key}"), key=sorted(extra)[0]))
    spec = fields.get(raw["field"]) if isinstance(raw["field"], str) else None
    if spec is None:
        raise _refuse(path, Text(_("unknown field {field}"), field=str(raw["field"])[:MAX_TEXT]))
    try:
        op = Op(raw["op"])
    except ValueError:
        op = None
    if op is None or op not in spec.ops:
        allowed = ", ".join(spec.ops)
        raise _refuse(
            path,
            Text(
                _("field {field} allows the ops {ops}; {op} is not one of them"),
                field=spec.name,
                ops=allowed,
                op=str(raw["op"])[:MAX_TEXT],
            ),
        )
    days = _days(raw.get("days"), spec, path)
    value = _value(raw.get("value"), spec, op, path)
    return Condition(spec.name, op, value, days)


def _days(raw: Any, spec: FieldSpec, path: str) -> int | None:
    if not spec.window:
        if raw is not None:
            raise _refuse(path, Text(_("field {field} has no window of days"), field=spec.name))
        return None
    if not _is_int(raw) or not 1 <= raw <= MAX_DAYS:
        raise _refuse(
            path,
            Text(
                _("field {field} needs days, a whole number from 1 to {most}"),
                field=spec.name,
                most=MAX_DAYS,
            ),
        )
    return int(raw)


def _is_int(raw: Any) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool)


def _value(raw: Any, spec: FieldSpec, op: Op, path: str) -> Any:
    if op is Op.between:
        if not isinstance(raw, list) or len(raw) != 2:
            raise _refuse(path, Text(_("between needs a list of two values, low and high")))
        low, high = (_one(item, spec, path) for item in raw)
        if low > high:
            raise _refuse(path, Text(_("between needs the low value first")))
        return (low, high)
    if op in (Op.in_, Op.not_in, Op.any_of, Op.all_of, Op.none_of):
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_VALUES:
            raise _refuse(
                path, Text(_("this op needs a list of 1 to {most} values"), most=MAX_VALUES)
            )
        return tuple(dict.fromkeys(_one(item, spec, path) for item in raw))
    return _one(raw, spec, path)


def _one(raw: Any, spec: FieldSpec, path: str) -> Any:
    if spec.type in (FieldType.number, FieldType.money):
        if not _is_int(raw) or not -MAX_NUMBER <= raw <= MAX_NUMBER:
            problem = (
                _("field {field} compares with a whole number of minor units (分)")
                if spec.type is FieldType.money
                else _("field {field} compares with a whole number")
            )
            raise _refuse(path, Text(problem, field=spec.name))
        return int(raw)
    if spec.type is FieldType.date:
        day = None
        if isinstance(raw, str) and len(raw) == 10:
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                pass
        if day is None:
            raise _refuse(
                path, Text(_("field {field} compares with a date YYYY-MM-DD"), field=spec.name)
            )
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            raise _refuse(
                path,
                Text(
                    _("field {field} compares with a date from {earliest} to {latest}"),
                    field=spec.name,
                    earliest=EARLIEST_DATE.isoformat(),
                    latest=LATEST_DATE.isoformat(),
                ),
            )
        return day
    if not isinstance(raw, str) or not 1 <= len(raw) <= MAX_TEXT:
        raise _refuse(
            path,
            Text(
                _("field {field} compares with a text of 1 to {most} characters"),
                field=spec.name,
                most=MAX_TEXT,
            ),
        )
    if spec.choices and raw not in spec.choices:
        raise _refuse(
            path,
            Text(
                _("field {field} is one of {choices}"),
                field=spec.name,
                choices=", ".join(spec.choices),
            ),
        )
    return raw
