"""Rule trees compiled to SQL: one ``SELECT members.id`` per program, nothing loaded in Python.

Each field of :data:`FIELDS` pairs its :class:`~memberkit.segment.tree.FieldSpec` with a
function that turns a condition into a predicate over ``members`` (a column comparison, or
an ``IN`` / ``NOT IN`` / ``EXISTS`` subquery on an indexed table). A new field — RFM class,
lifecycle, churn risk, CLV — is one more :func:`register` call with its own compile function.

Aggregates (spend, orders, balances, expiring points, coupons) count 0 for members with no
rows: when 0 satisfies the comparison the predicate is ``id NOT IN (members whose aggregate
fails it)``, otherwise ``id IN (members whose aggregate meets it)``, both grouped subqueries
on the member's indexed column. Orders without a member (non-member sales) never count.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from memberkit.analytics.models import MemberRfm
from memberkit.analytics.rfm import ActiveClass, RfmClass
from memberkit.analytics.rules import Lifecycle
from memberkit.coupon.models import Coupon, CouponStatus
from memberkit.db import table
from memberkit.forecast.models import MemberForecast
from memberkit.kit.i18n import _
from memberkit.kit.time import start_of_local_day
from memberkit.ledger.models import Account, AccountCode, Asset, PointsLot
from memberkit.member.models import Channel, Member, MemberStatus, MemberTag
from memberkit.order.models import Order, OrderLine
from memberkit.segment.tree import Condition, FieldSpec, FieldType, Group, Op
from memberkit.store.models import Store

members = table(Member)
member_tags = table(MemberTag)
orders = table(Order)
order_lines = table(OrderLine)
stores = table(Store)
accounts = table(Account)
points_lots = table(PointsLot)
coupons = table(Coupon)
member_forecasts = table(MemberForecast)
member_rfm = table(MemberRfm)


@dataclass(frozen=True)
class Context:
    """What a compiled rule is evaluated for: the program, its timezone and the moment."""

    program_id: int
    tz: ZoneInfo
    now: datetime
    #: The members evaluated, when not all (an incremental refresh): aggregates look at theirs.
    only: tuple[int, ...] | None = None

    def since(self, days: int | None) -> datetime:
        """The start of a window of the last ``days`` days."""
        return self.now - timedelta(days=days or 0)


Compile = Callable[[Condition, Context], ColumnElement[bool]]


@dataclass(frozen=True)
class Field:
    """A field's declaration and its SQL."""

    spec: FieldSpec
    compile: Compile


#: Every field a condition may name, by name, in the builder's order.
FIELDS: dict[str, Field] = {}


def register(field: Field) -> None:
    """Add a field (or replace one of the same name)."""
    FIELDS[field.spec.name] = field


def specs() -> dict[str, FieldSpec]:
    """The fields' declarations, for :func:`memberkit.segment.tree.parse`."""
    return {name: field.spec for name, field in FIELDS.items()}


# --- comparisons -------------------------------------------------------------------------


#: The ordered ops, which read the same on a column (SQL) and on a number (Python).
_ORDERED: dict[Op, Callable[[Any, Any], Any]] = {
    Op.eq: operator.eq,
    Op.ne: operator.ne,
    Op.gt: operator.gt,
    Op.gte: operator.ge,
    Op.lt: operator.lt,
    Op.lte: operator.le,
}


def _compare(column: Any, op: Op, value: Any) -> ColumnElement[bool]:
    """``column op value`` in SQL, for the ordered and the list ops."""
    if op is Op.between:
        return column.between(value[0], value[1])
    if op in (Op.in_, Op.any_of):
        return column.in_(value)
    if op in (Op.not_in, Op.none_of):
        return column.not_in(value)
    return _ORDERED[op](column, value)


def _holds(op: Op, value: Any, number: int) -> bool:
    """Whether ``number op value`` holds, in Python (for the zero of an aggregate)."""
    if op is Op.between:
        return bool(value[0] <= number <= value[1])
    return bool(_ORDERED[op](number, value))


def _nullable(column: Any, condition: Condition) -> ColumnElement[bool]:
    """A comparison of a nullable column: "is not" / "none of" hold for an unset one."""
    compared = _compare(column, condition.op, condition.value)
    if condition.op in (Op.ne, Op.not_in):
        return or_(column.is_(None), compared)
    return compared


def _aggregate(
    member_id: Any,
    amount: Any,
    where: ColumnElement[bool],
    condition: Condition,
    context: Context,
) -> ColumnElement[bool]:
    """Members whose ``amount`` summed over the rows ``where`` (0 without rows) compares."""
    total = func.coalesce(amount, 0)
    grouped = select(member_id).where(where, member_id.is_not(None)).group_by(member_id)
    if context.only is not None:
        grouped = grouped.where(member_id.in_(context.only))
    if _holds(condition.op, condition.value, 0):
        failing = grouped.having(not_(_compare(total, condition.op, condition.value)))
        return members.c.id.not_in(failing)
    return members.c.id.in_(grouped.having(_compare(total, condition.op, condition.value)))


def _day_bounds(op: Op, value: Any, tz: ZoneInfo, column: Any) -> ColumnElement[bool]:
    """Compare an instant with local days: ``gte d`` is from d's start, ``lte d`` to its end."""

    def start(day: date) -> datetime:
        return start_of_local_day(day, tz)

    def end(day: date) -> datetime:
        return start(day + timedelta(days=1))

    match op:
        case Op.eq:
            return and_(column >= start(value), column < end(value))
        case Op.ne:
            return or_(column < start(value), column >= end(value))
        case Op.gt:
            return column >= end(value)
        case Op.gte:
            return column >= start(value)
        case Op.lt:
            return column < start(value)
        case Op.lte:
            return column < end(value)
        case Op.between:
            return and_(column >= start(value[0]), column < end(value[1]))
    raise ValueError(op)  # pragma: no cover


def _store_ids(context: Context, codes: Collection[str]) -> Select[Any]:
    return select(stores.c.id).where(
        stores.c.program_id == context.program_id, stores.c.code.in_(codes)
    )


def _tags(match: Callable[[Collection[str], Context, Condition], Any], key: Any) -> Compile:
    """A set field: ``match(codes, …)`` selects the ids of members holding any of the codes.

    Uncorrelated ``IN`` subqueries, so the database reads the (indexed) rows once rather than
    probing them member by member. ``key`` is the column holding the code (or its store id):
    "has all of" is one subquery grouped by member, counting the distinct codes found (one
    flat statement, however many codes; the codes are distinct, see ``tree.parse``).
    """

    def compile_(condition: Condition, context: Context) -> ColumnElement[bool]:
        codes = condition.value
        found = match(codes, context, condition)
        if condition.op is Op.all_of:
            member = found.selected_columns[0]
            held = found.group_by(member).having(func.count(key.distinct()) == len(codes))
            return members.c.id.in_(held)
        if condition.op is Op.any_of:
            return members.c.id.in_(found)
        return members.c.id.not_in(found)

    return compile_


def _member_orders(context: Context, condition: Condition) -> ColumnElement[bool]:
    return and_(
        orders.c.program_id == context.program_id,
        orders.c.occurred_at >= context.since(condition.days),
    )


# --- the fields ----------------------------------------------------------------------------


def _column(name: str) -> Compile:
    def compile_(condition: Condition, context: Context) -> ColumnElement[bool]:
        return _nullable(members.c[name], condition)

    return compile_


def _store(condition: Condition, context: Context) -> ColumnElement[bool]:
    codes = (condition.value,) if isinstance(condition.value, str) else condition.value
    inside = members.c.store_id.in_(_store_ids(context, codes))
    return (
        inside
        if condition.op in (Op.eq, Op.in_)
        else or_(members.c.store_id.is_(None), not_(inside))
    )


def _registered(condition: Condition, context: Context) -> ColumnElement[bool]:
    return _day_bounds(condition.op, condition.value, context.tz, members.c.created_at)


def _tag_rows(codes: Collection[str], context: Context, _condition: Condition) -> Any:
    return select(member_tags.c.member_id).where(
        member_tags.c.program_id == context.program_id, member_tags.c.tag.in_(codes)
    )


def _spend(condition: Condition, context: Context) -> ColumnElement[bool]:
    amount = func.sum(orders.c.total_minor - orders.c.refunded_minor)
    return _aggregate(
        orders.c.member_id, amount, _member_orders(context, condition), condition, context
    )


def _order_count(condition: Condition, context: Context) -> ColumnElement[bool]:
    where = and_(_member_orders(context, condition), orders.c.refunded_minor < orders.c.total_minor)
    return _aggregate(orders.c.member_id, func.count(), where, condition, context)


def _bought(
    column_of: Callable[[Context, Collection[str]], ColumnElement[bool]], lines: bool, key: Any
) -> Compile:
    def rows(codes: Collection[str], context: Context, condition: Condition) -> Any:
        found = select(orders.c.member_id).where(
            _member_orders(context, condition),
            orders.c.member_id.is_not(None),
            column_of(context, codes),
        )
        if lines:
            found = found.join_from(orders, order_lines, order_lines.c.order_id == orders.c.id)
        if context.only is not None:
            found = found.where(orders.c.member_id.in_(context.only))
        return found

    return _tags(rows, key)


def _balance(*assets: str) -> Compile:
    def compile_(condition: Condition, context: Context) -> ColumnElement[bool]:
        where = and_(
            accounts.c.program_id == context.program_id,
            accounts.c.code == AccountCode.member,
            accounts.c.asset.in_(assets),
        )
        return _aggregate(
            accounts.c.member_id, func.sum(accounts.c.balance), where, condition, context
        )

    return compile_


def _expiring(condition: Condition, context: Context) -> ColumnElement[bool]:
    where = and_(
        points_lots.c.program_id == context.program_id,
        points_lots.c.remaining > 0,
        points_lots.c.expires_at > context.now,
        points_lots.c.expires_at <= context.now + timedelta(days=condition.days or 0),
    )
    return _aggregate(
        points_lots.c.member_id, func.sum(points_lots.c.remaining), where, condition, context
    )


def _coupons_unused(condition: Condition, context: Context) -> ColumnElement[bool]:
    where = and_(
        coupons.c.program_id == context.program_id,
        coupons.c.status == CouponStatus.available,
        coupons.c.valid_until > context.now,
    )
    return _aggregate(coupons.c.member_id, func.count(), where, condition, context)


def _forecast(figure: Any, scale: int) -> Compile:
    """A figure of the member's latest forecast, compared in its stored unit (value × scale).

    A member with no forecast (who never bought, or before the first fit) matches no
    condition on it, whichever the op.
    """

    def compile_(condition: Condition, context: Context) -> ColumnElement[bool]:
        value = condition.value
        scaled = tuple(v * scale for v in value) if isinstance(value, tuple) else value * scale
        found = select(member_forecasts.c.member_id).where(
            member_forecasts.c.program_id == context.program_id,
            _compare(figure, condition.op, scaled),
        )
        if context.only is not None:
            found = found.where(member_forecasts.c.member_id.in_(context.only))
        return members.c.id.in_(found)

    return compile_


#: The op whose members "is not" / "is none of" leave out.
_NEGATED = {Op.ne: Op.eq, Op.not_in: Op.in_}


def _rfm(column: Any) -> Compile:
    """A figure of the member's RFM row (``member_rfm``, refreshed daily and after orders).

    "Is not" and "is none of" hold for a member without a row or a class (never scored).
    """

    def compile_(condition: Condition, context: Context) -> ColumnElement[bool]:
        op = _NEGATED.get(condition.op, condition.op)
        found = select(member_rfm.c.member_id).where(
            member_rfm.c.program_id == context.program_id,
            _compare(column, op, condition.value),
        )
        if context.only is not None:
            found = found.where(member_rfm.c.member_id.in_(context.only))
        if condition.op in _NEGATED:
            return members.c.id.not_in(found)
        return members.c.id.in_(found)

    return compile_


for _field in (
    Field(
        FieldSpec("gender", _("gender"), FieldType.choice, choices=("male", "female", "unknown")),
        _column("gender"),
    ),
    Field(
        FieldSpec("channel", _("registration channel"), FieldType.choice, choices=tuple(Channel)),
        _column("channel"),
    ),
    Field(FieldSpec("store", _("registration store"), FieldType.code), _store),
    Field(FieldSpec("registered", _("registration date"), FieldType.date), _registered),
    Field(FieldSpec("tier", _("tier"), FieldType.code), _column("tier_code")),
    Field(
        FieldSpec("status", _("status"), FieldType.choice, choices=tuple(MemberStatus)),
        _column("status"),
    ),
    Field(
        FieldSpec("tag", _("tags"), FieldType.tags),
        _tags(_tag_rows, member_tags.c.tag),
    ),
    Field(FieldSpec("spend", _("spend"), FieldType.money, window=True), _spend),
    Field(FieldSpec("orders", _("number of orders"), FieldType.number, window=True), _order_count),
    Field(
        FieldSpec("bought_category", _("bought in category"), FieldType.tags, window=True),
        _bought(
            lambda context, codes: order_lines.c.category.in_(codes),
            lines=True,
            key=order_lines.c.category,
        ),
    ),
    Field(
        FieldSpec("bought_store", _("bought at store"), FieldType.tags, window=True),
        _bought(
            lambda context, codes: orders.c.store_id.in_(_store_ids(context, codes)),
            lines=False,
            key=orders.c.store_id,
        ),
    ),
    Field(
        FieldSpec("bought_channel", _("bought through channel"), FieldType.tags, window=True),
        _bought(
            lambda context, codes: orders.c.channel.in_(codes), lines=False, key=orders.c.channel
        ),
    ),
    Field(FieldSpec("points", _("points balance"), FieldType.number), _balance(Asset.points)),
    Field(
        FieldSpec("points_expiring", _("points expiring within"), FieldType.number, window=True),
        _expiring,
    ),
    Field(
        FieldSpec("wallet", _("stored value balance"), FieldType.money),
        _balance(Asset.wallet_principal, Asset.wallet_bonus),
    ),
    Field(FieldSpec("coupons_unused", _("unused coupons"), FieldType.number), _coupons_unused),
    Field(
        FieldSpec("rfm_class", _("RFM class"), FieldType.choice, choices=tuple(RfmClass)),
        _rfm(member_rfm.c.rfm_class),
    ),
    Field(
        FieldSpec(
            "active_class",
            _("class of active member"),
            FieldType.choice,
            choices=tuple(ActiveClass),
        ),
        _rfm(member_rfm.c.active_class),
    ),
    Field(
        FieldSpec("lifecycle", _("lifecycle"), FieldType.choice, choices=tuple(Lifecycle)),
        _rfm(member_rfm.c.lifecycle),
    ),
    Field(FieldSpec("r_score", _("R score"), FieldType.number), _rfm(member_rfm.c.r_score)),
    Field(FieldSpec("f_score", _("F score"), FieldType.number), _rfm(member_rfm.c.f_score)),
    Field(FieldSpec("m_score", _("M score"), FieldType.number), _rfm(member_rfm.c.m_score)),
    # Churn risk in whole percent: 1 − P(alive), stored as P(alive) in millionths.
    Field(
        FieldSpec("churn_risk", _("churn risk (%)"), FieldType.number),
        _forecast(1_000_000 - member_forecasts.c.p_alive_ppm, 10_000),
    ),
    Field(
        FieldSpec("expected_purchases_90d", _("expected purchases in 90 days"), FieldType.number),
        _forecast(member_forecasts.c.expected_purchases_90d_milli, 1000),
    ),
    Field(
        FieldSpec("expected_value_12m", _("expected value in 12 months"), FieldType.money),
        _forecast(member_forecasts.c.expected_value_12m_minor, 1),
    ),
):
    register(_field)


# --- the tree ------------------------------------------------------------------------------


def predicate(group: Group, context: Context) -> ColumnElement[bool]:
    """The tree as one predicate over ``members``."""
    parts = [
        predicate(item, context)
        if isinstance(item, Group)
        else FIELDS[item.field].compile(item, context)
        for item in group.items
    ]
    return and_(true(), *parts) if group.all else or_(false(), *parts)


def member_ids(
    group: Group,
    context: Context,
    *,
    only: Collection[int] | None = None,
    store_codes: Collection[str] | None = None,
) -> Select[tuple[int]]:
    """``SELECT members.id`` of the program's members the rule holds for.

    ``only`` restricts it to those members (an incremental refresh); ``store_codes`` to the
    members registered at those stores (a store-bound viewer).
    """
    if only is not None:
        context = replace(context, only=tuple(sorted(only)))
    query = select(members.c.id).where(
        members.c.program_id == context.program_id, predicate(group, context)
    )
    if context.only is not None:
        query = query.where(members.c.id.in_(context.only))
    if store_codes is not None:
        query = query.where(members.c.store_id.in_(_store_ids(context, store_codes)))
    return query


def scoped(query: Any, context: Context, store_codes: Collection[str] | None) -> Any:
    """Narrow a query over ``members`` to those registered at ``store_codes`` (None: all)."""
    if store_codes is None:
        return query
    return query.where(members.c.store_id.in_(_store_ids(context, store_codes)))
