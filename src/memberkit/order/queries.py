"""Order reads: an order as screens show it, and the spend, order and invitee facts tiers read."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, and_, bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session

from memberkit.coupon.models import Coupon, CouponTemplate, OrderCoupon
from memberkit.db import table
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import LedgerEntry, LedgerTransaction
from memberkit.member.models import Member
from memberkit.order.models import Order, OrderLine, OrderPayment, OrderSource, Refund
from memberkit.store.models import Store

_ORDERS_FACTS: dict[tuple[tuple[int, ...], bool], Select[Any]] = {}


def not_fully_refunded(orders: Any) -> Any:
    """A fully refunded order is no order any more; a free one (nothing to refund) still is."""
    return or_(orders.c.refunded_minor < orders.c.total_minor, orders.c.total_minor == 0)


def counts_for_rules(orders: Any, *, history: bool = False) -> Any:
    """The orders tier conditions read: live ones, and history when ``history`` says so.

    ``history`` is the ``history`` section's ``counts_for_tiers`` (see
    :mod:`memberkit.order.settings`): off, tier spend windows and order counts, and invitees
    who bought, read live orders only; history stays in reports and the member's record.
    """
    if history:
        return true()
    return orders.c.source == OrderSource.live.value


def _orders_facts(windows: tuple[int, ...], history: bool) -> Select[Any]:
    """Return the orders aggregate of :func:`spend_facts` for these windows, built once per set.

    Columns: the spend of the local day, then spend and order count per window.
    """
    statement = _ORDERS_FACTS.get((windows, history))
    if statement is not None:
        return statement
    orders = table(Order)
    net = orders.c.total_minor - orders.c.refunded_minor
    kept = not_fully_refunded(orders)
    until = orders.c.occurred_at <= bindparam("at")
    today = and_(orders.c.occurred_at >= bindparam("day_start"), until)
    columns = [func.coalesce(func.sum(case((today, net), else_=0)), 0)]
    for days in windows:
        inside = and_(orders.c.occurred_at > bindparam(f"since_{days}"), until)
        columns.append(func.coalesce(func.sum(case((inside, net), else_=0)), 0))
        columns.append(func.coalesce(func.sum(case((and_(inside, kept), 1), else_=0)), 0))
    statement = select(*columns).where(
        orders.c.member_id == bindparam("member"),
        orders.c.occurred_at > bindparam("earliest"),
        counts_for_rules(orders, history=history),
    )
    _ORDERS_FACTS[(windows, history)] = statement
    return statement


def spend_facts(
    session: Session,
    *,
    member_id: int,
    at: datetime,
    day_start: datetime,
    windows: tuple[int, ...],
    history: bool = False,
) -> Row[Any]:
    """Return the member's spend of the day from ``day_start`` to ``at``, then per window.

    Live orders, and history with ``history`` (:func:`counts_for_rules`). Spend is net of
    refunds; each window (days back from ``at``) gives its spend and its count of orders not
    fully refunded, in one statement built once per set of windows.
    """
    params: dict[str, object] = {"member": member_id, "at": at, "day_start": day_start}
    params.update({f"since_{days}": at - timedelta(days=days) for days in windows})
    params["earliest"] = min([day_start, *(at - timedelta(days=d) for d in windows)])
    return session.connection().execute(_orders_facts(windows, history), params).one()


def refunded_among(session: Session, *, order_ids: Iterable[int]) -> set[int]:
    """Return which of the orders ``order_ids`` have been refunded, in part or in full."""
    ids = set(order_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Order.id).where(Order.id.in_(ids), Order.refunded_minor > 0)))


def order_with_member(
    session: Session, *, program_id: int, external_id: str
) -> tuple[Order, str | None, str | None] | None:
    """An order by external id with its member's card number and tier code, or None.

    A non-member sale has neither (None, None).
    """
    row = session.execute(
        select(Order, Member.member_no, Member.tier_code)
        .outerjoin(Member, Member.id == Order.member_id)
        .where(Order.program_id == program_id, Order.external_id == external_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def refunds_of(session: Session, *, order_id: int) -> list[Refund]:
    """The order's refunds, oldest first."""
    return list(
        session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.id))
    )


def units_left(session: Session, *, order_id: int) -> int:
    """How many units of the order's lines are not refunded yet."""
    left = session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity - OrderLine.refunded_quantity), 0)).where(
            OrderLine.order_id == order_id
        )
    )
    return int(left or 0)


def store_of_order(
    session: Session, *, program_id: int, external_id: str
) -> tuple[bool, str | None]:
    """Whether the order exists, and the code of the store it was made at (None: online)."""
    row = session.execute(
        select(Order.id, Store.code)
        .outerjoin(Store, Store.id == Order.store_id)
        .where(Order.program_id == program_id, Order.external_id == external_id)
    ).one_or_none()
    return (False, None) if row is None else (True, row.code)


def invitee_counts(
    session: Session,
    *,
    member_id: int,
    tiers_from: Mapping[int, Sequence[str]],
    history: bool = False,
) -> tuple[int, dict[int, int]]:
    """Count the member's invitees who bought, and per level those in ``tiers_from[level]``.

    An invitee whose every order was fully refunded has not bought; history orders count
    with ``history`` (:func:`counts_for_rules`). One statement.
    """
    members, orders = table(Member), table(Order)
    bought = (
        select(orders.c.id)
        .where(
            orders.c.member_id == members.c.id,
            not_fully_refunded(orders),
            counts_for_rules(orders, history=history),
        )
        .exists()
    )
    columns = [func.coalesce(func.sum(case((bought, 1), else_=0)), 0)]
    ordered = sorted(tiers_from)
    columns += [
        func.coalesce(func.sum(case((members.c.tier_code.in_(tiers_from[level]), 1), else_=0)), 0)
        for level in ordered
    ]
    row = (
        session.connection()
        .execute(select(*columns).where(members.c.referrer_id == member_id))
        .one()
    )
    return int(row[0]), {level: int(row[1 + i]) for i, level in enumerate(ordered)}


def order_growth_credited(
    session: Session,
    *,
    member_id: int,
    transaction_kind: str,
    reason: str | None,
    start: datetime,
    until: datetime,
) -> list[tuple[int, int, int]]:
    """Per order, the growth its transactions of a kind credited within [start, until).

    Each row: that growth, and the order's ``growth_earned`` and ``growth_reversed``.
    ``reason`` None: any reason.
    """
    rows = session.execute(
        ledger_repository.growth_credits(
            select(func.sum(LedgerEntry.amount), Order.growth_earned, Order.growth_reversed),
            member_id=member_id,
            transaction_kind=transaction_kind,
            reason=reason,
            start=start,
            until=until,
        )
        .join(Order, Order.id == LedgerTransaction.order_id)
        .group_by(Order.id, Order.growth_earned, Order.growth_reversed)
    )
    return [(int(growth), earned, reversed_) for growth, earned, reversed_ in rows]


@dataclass(frozen=True)
class Sales:
    """Net sales by members and orders over days, and how many members bought."""

    #: (net sales in minor units, orders) of each day, in the order of the days asked.
    by_day: list[tuple[int, int]]
    #: Over the whole span, the days' and any order dated after the last day begins.
    total: int
    orders: int
    members: int


def sales_by_day(
    session: Session,
    *,
    program_id: int,
    bounds: Sequence[datetime],
    stores: Collection[str] | None = None,
) -> Sales:
    """Sum the orders made since ``bounds[0]`` by day: day n runs from ``bounds[n]`` to the next.

    ``bounds`` are the UTC instants the program's local days begin, and the end of the last
    (so a day is local however the clock shifts); an order after the end counts in the
    totals, not in a day. Net of what was refunded; of the orders made at ``stores`` when
    given. Two aggregates grouped in the database: nothing is read order by order.
    """
    condition = [Order.program_id == program_id, Order.occurred_at >= bounds[0]]
    if stores is not None:
        condition.append(
            Order.store_id.in_(
                select(Store.id).where(Store.program_id == program_id, Store.code.in_(stores))
            )
        )
    days = len(bounds) - 1
    day = case(
        *((Order.occurred_at < end, n) for n, end in enumerate(bounds[1:])), else_=days
    ).label("day")
    net = Order.total_minor - Order.refunded_minor
    sums = [(0, 0)] * (days + 1)
    for n, total, count in session.execute(
        select(day, func.coalesce(func.sum(net), 0), func.count()).where(*condition).group_by(day)
    ):
        sums[int(n)] = (int(total), int(count))
    members = session.scalar(select(func.count(func.distinct(Order.member_id))).where(*condition))
    return Sales(
        by_day=sums[:days],
        total=sum(total for total, _count in sums),
        orders=sum(count for _total, count in sums),
        members=int(members or 0),
    )


@dataclass(frozen=True)
class MemberOrder:
    """One of a member's orders as their page lists it, with its refunds."""

    external_id: str
    store_code: str | None
    occurred_at: datetime
    total_minor: int
    refunded_minor: int
    points_earned: int
    refunds: list[tuple[str, int, datetime]]
    #: What the order paid with points, and with stored value (principal and bonus).
    points_paid: int = 0
    wallet_paid_minor: int = 0


def member_orders(
    session: Session, *, member_id: int, stores: Collection[str] | None, limit: int = 20
) -> list[MemberOrder]:
    """Return a member's latest orders (made at ``stores`` when given) with their refunds."""
    query = (
        select(Order, Store.code)
        .outerjoin(Store, Store.id == Order.store_id)
        .where(Order.member_id == member_id)
    )
    if stores is not None:
        query = query.where(Store.code.in_(stores))
    rows = session.execute(query.order_by(Order.occurred_at.desc(), Order.id.desc()).limit(limit))
    orders = [(order, code) for order, code in rows]
    refunds: dict[int, list[tuple[str, int, datetime]]] = {}
    if orders:
        for refund in session.scalars(
            select(Refund)
            .where(Refund.order_id.in_([order.id for order, _code in orders]))
            .order_by(Refund.occurred_at, Refund.id)
        ):
            refunds.setdefault(refund.order_id, []).append(
                (refund.external_id, refund.amount_minor, refund.occurred_at)
            )
    return [
        MemberOrder(
            order.external_id,
            code,
            order.occurred_at,
            order.total_minor,
            order.refunded_minor,
            order.points_earned,
            refunds.get(order.id, []),
            order.points_paid,
            order.wallet_principal_paid + order.wallet_bonus_paid,
        )
        for order, code in orders
    ]


def lines_of(session: Session, *, order_id: int) -> list[OrderLine]:
    """The order's lines in line order, with what was refunded of each (for screens)."""
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_no)
        )
    )


def recent_at_store(
    session: Session, *, program_id: int, member_id: int, store_code: str, limit: int = 5
) -> list[Order]:
    """The member's latest orders made at the store ``store_code``, newest first."""
    return list(
        session.scalars(
            select(Order)
            .join(Store, Store.id == Order.store_id)
            .where(
                Order.program_id == program_id,
                Order.member_id == member_id,
                Store.code == store_code,
            )
            .order_by(Order.occurred_at.desc(), Order.id.desc())
            .limit(limit)
        )
    )


def payments_of(session: Session, *, order_id: int) -> list[OrderPayment]:
    """The order's payments, as they were recorded."""
    return list(
        session.scalars(
            select(OrderPayment).where(OrderPayment.order_id == order_id).order_by(OrderPayment.id)
        )
    )


def line_discounts(session: Session, *, order_id: int) -> list[tuple[int, int, int, int]]:
    """An order's lines as (line_no, amount paid, tier discount, coupon discount), in order."""
    return list(
        session.execute(
            select(
                OrderLine.line_no,
                OrderLine.amount_minor,
                OrderLine.tier_discount_minor,
                OrderLine.coupon_discount_minor,
            )
            .where(OrderLine.order_id == order_id)
            .order_by(OrderLine.line_no)
        )
    )


def coupon_uses(
    session: Session, *, order_id: int
) -> list[tuple[str, str, int, dict[str, int] | None]]:
    """An order's coupons as (code, template name, discount, by line), as they applied."""
    return list(
        session.execute(
            select(
                Coupon.code, CouponTemplate.name, OrderCoupon.discount_minor, OrderCoupon.by_line
            )
            .join(Coupon, Coupon.id == OrderCoupon.coupon_id)
            .join(CouponTemplate, CouponTemplate.id == OrderCoupon.template_id)
            .where(OrderCoupon.order_id == order_id)
            .order_by(OrderCoupon.id)
        )
    )
