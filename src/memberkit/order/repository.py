"""Order and refund writes, and the reads the posting path makes under the member's lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from memberkit.db import bulk_insert, driver_rows, in_values, insert_ready, table
from memberkit.member.models import Member, MemberStatus
from memberkit.order.models import Order, OrderLine, OrderPayment, Refund, RefundLine
from memberkit.store.models import Store

_orders = table(Order)
_ORDER_BY_EXTERNAL_ID = select(_orders.c.id).where(
    _orders.c.program_id == bindparam("program_id"),
    _orders.c.external_id == bindparam("external_id"),
)
_INSERT_ORDER = insert(_orders).returning(_orders.c.id)
_INSERT_LINE = insert(table(OrderLine))
_INSERT_PAYMENT = insert(table(OrderPayment))
_INSERT_REFUND = insert(table(Refund)).returning(table(Refund).c.id)
_INSERT_REFUND_LINE = insert(table(RefundLine))


def order_exists(session: Session, *, program_id: int, external_id: str) -> bool:
    """Whether the program has an order with this external id (a prebuilt statement)."""
    found = (
        session.connection()
        .execute(_ORDER_BY_EXTERNAL_ID, {"program_id": program_id, "external_id": external_id})
        .scalar()
    )
    return found is not None


def insert_order(
    session: Session,
    *,
    order: dict[str, Any],
    lines: list[dict[str, Any]],
    payments: list[dict[str, Any]],
) -> int:
    """Write an order, its lines and its payments (lines and payments without ``order_id``)."""
    connection = session.connection()
    order_id: int = connection.execute(_INSERT_ORDER, order).scalar_one()
    connection.execute(_INSERT_LINE, [{"order_id": order_id, **line} for line in lines])
    if payments:
        connection.execute(
            _INSERT_PAYMENT, [{"order_id": order_id, **payment} for payment in payments]
        )
    return order_id


def refund_exists(session: Session, *, program_id: int, external_id: str) -> bool:
    """Whether the program has a refund with this external id."""
    found = session.scalar(
        select(Refund.id).where(Refund.program_id == program_id, Refund.external_id == external_id)
    )
    return found is not None


def order_member(session: Session, *, program_id: int, external_id: str) -> tuple[bool, int | None]:
    """Whether the order exists, and the id of its member (None for a non-member sale)."""
    row = session.execute(
        select(Order.member_id).where(
            Order.program_id == program_id, Order.external_id == external_id
        )
    ).first()
    return row is not None, row.member_id if row is not None else None


def load_for_refund(
    session: Session, *, program_id: int, external_id: str, lock: bool = False
) -> tuple[Order, list[OrderLine]]:
    """The order and its lines in line order, for a refund.

    A member's order is read under its member's lock; ``lock`` locks the order's row instead
    (a non-member sale, which has no member to lock).
    """
    statement = select(Order).where(
        Order.program_id == program_id, Order.external_id == external_id
    )
    if lock:
        statement = statement.with_for_update()
    order = session.scalars(statement).one()
    lines = list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        )
    )
    return order, lines


def record_refund(
    session: Session,
    *,
    order_id: int,
    totals: dict[str, int],
    refund: dict[str, Any],
    lines: list[dict[str, Any]],
) -> int:
    """Write a refund and its lines and set the order's new running ``totals``; returns its id.

    The order lines' refunded quantities and amounts are changed on the loaded lines, flushed
    with the unit of work.
    """
    session.execute(update(Order).where(Order.id == order_id).values(**totals))
    refund_id: int = session.execute(_INSERT_REFUND, {"order_id": order_id, **refund}).scalar_one()
    if lines:
        session.execute(_INSERT_REFUND_LINE, [{"refund_id": refund_id, **line} for line in lines])
    return refund_id


# The history import: multi-row statements over a batch of rows, no member lock (nothing is
# earned, so no balance changes).


def existing_amounts(
    session: Session, *, program_id: int, refunds: bool, external_ids: Sequence[str]
) -> dict[str, int]:
    """Which of ``external_ids`` the program's orders (or refunds) already hold, and for how much.

    The amounts are in minor units (an order's total); one statement.
    """
    if not external_ids:
        return {}
    connection = session.connection()
    match, wanted = in_values(connection, sorted(set(external_ids)))
    name, amount = ("refunds", "amount_minor") if refunds else ("orders", "total_minor")
    rows = driver_rows(
        connection,
        f"SELECT external_id, {amount} FROM {name} "  # noqa: S608
        f"WHERE program_id = ? AND external_id {match}",
        (program_id, wanted),
    )
    return {external_id: int(minor) for external_id, minor in rows}


#: The columns of an imported order, in the order :func:`insert_orders` takes them.
ORDER_COLUMNS = (
    "id",
    "program_id",
    "external_id",
    "member_id",
    "store_id",
    "channel",
    "occurred_at",
    "total_minor",
    "eligible_minor",
    "points_paid",
    "points_earned",
    "growth_earned",
    "refunded_minor",
    "points_reversed",
    "growth_reversed",
    "points_returned",
    "source",
    "created_at",
)
#: The columns of an imported order line, in the order :func:`insert_lines` takes them.
LINE_COLUMNS = (
    "order_id",
    "line_no",
    "sku",
    "name",
    "category",
    "quantity",
    "unit_price_minor",
    "amount_minor",
    "earn_weight",
    "growth_weight",
    "refunded_quantity",
    "refunded_minor",
)


def reserve_order_ids(session: Session, *, count: int) -> Sequence[int]:
    """``count`` order ids no other writer will use, for orders inserted with their ids.

    PostgreSQL: drawn from the table's sequence (``nextval`` over ``generate_series``), as
    any other insert draws them, so a live order posted meanwhile takes another. SQLite: the
    ids after the highest, which is what SQLite itself would assign; the unit of work holds
    the write lock from its ``BEGIN IMMEDIATE`` until it commits, so no one else inserts
    in between.
    """
    if count <= 0:
        return ()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = driver_rows(
            connection,
            "SELECT nextval(pg_get_serial_sequence('orders', 'id')) FROM generate_series(1, ?)",
            (count,),
        )
        return [order_id for (order_id,) in rows]
    ((highest,),) = driver_rows(connection, "SELECT max(id) FROM orders")
    first = (highest or 0) + 1
    return range(first, first + count)


def insert_orders(session: Session, *, rows: Sequence[Sequence[Any]]) -> None:
    """Insert many orders, tuples of :data:`ORDER_COLUMNS` in the driver's form, ids given.

    By the driver's bulk path (:func:`memberkit.db.insert_ready`): ``COPY`` on PostgreSQL, one
    prepared ``executemany`` on SQLite. The ids come from :func:`reserve_order_ids`.
    """
    insert_ready(session.connection(), _orders, ORDER_COLUMNS, rows)


def insert_lines(session: Session, *, rows: Sequence[Sequence[Any]]) -> None:
    """Insert many order lines, tuples of :data:`LINE_COLUMNS`, by the driver's bulk path."""
    insert_ready(session.connection(), table(OrderLine), LINE_COLUMNS, rows)


def _bulk(session: Session, target: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        bulk_insert(
            session.connection(), target, columns, [tuple(row[c] for c in columns) for row in rows]
        )


@dataclass(frozen=True)
class Refundable:
    """What a refund needs to know of its order."""

    id: int
    total_minor: int
    refunded_minor: int
    occurred_at: datetime
    member_id: int | None
    store_id: int | None
    source: str


def refundable(
    session: Session, *, program_id: int, external_ids: Sequence[str]
) -> dict[str, Refundable]:
    """Orders by external id, with what a refund is checked against; one statement.

    The rows are locked (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is the batch's)
    until the batch commits, so that two imports refunding one order at once are checked one
    after the other against what is left.
    """
    if not external_ids:
        return {}
    columns = _orders.c
    rows = session.connection().execute(
        select(
            columns.external_id,
            columns.id,
            columns.total_minor,
            columns.refunded_minor,
            columns.occurred_at,
            columns.member_id,
            columns.store_id,
            columns.source,
        )
        .where(columns.program_id == program_id, columns.external_id.in_(sorted(set(external_ids))))
        .order_by(columns.id)
        .with_for_update()
    )
    return {row[0]: Refundable(*row[1:]) for row in rows}


_ADD_REFUNDED = (
    update(_orders)
    .where(_orders.c.id == bindparam("order_id"))
    .values(refunded_minor=_orders.c.refunded_minor + bindparam("amount"))
)


def insert_refunds(
    session: Session, *, rows: Sequence[dict[str, Any]], refunded: dict[int, int]
) -> None:
    """Insert many refunds and add ``refunded`` ({order id: minor units}) to their orders."""
    if not rows:
        return
    _bulk(session, table(Refund), rows)
    session.connection().execute(
        _ADD_REFUNDED,
        [{"order_id": order_id, "amount": amount} for order_id, amount in refunded.items()],
    )


# Earning history (the ``history`` section's ``earn`` other than ``none``): the orders and
# refunds a batch of the import wrote, read again to post them one by one under each
# member's lock.


@dataclass(frozen=True)
class HistoryOrder:
    """An imported order of a member, as earning it needs."""

    id: int
    external_id: str
    member_id: int
    occurred_at: datetime
    total_minor: int
    store_code: str | None
    category: str


def history_orders(
    session: Session, *, program_id: int, external_ids: Sequence[str]
) -> list[HistoryOrder]:
    """The members' orders among ``external_ids``, by member, then date; one statement.

    A non-member sale is left out (it earns nothing), and so is the order of a member who is
    not active. Its category is its one line's (none: ``""``).
    """
    if not external_ids:
        return []
    lines = table(OrderLine)
    stores = table(Store)
    members = table(Member)
    columns = _orders.c
    rows = session.connection().execute(
        select(
            columns.id,
            columns.external_id,
            columns.member_id,
            columns.occurred_at,
            columns.total_minor,
            stores.c.code,
            func.coalesce(lines.c.category, ""),
        )
        .join(members, members.c.id == columns.member_id)
        .outerjoin(stores, stores.c.id == columns.store_id)
        .outerjoin(lines, and_(lines.c.order_id == columns.id, lines.c.line_no == 1))
        .where(
            columns.program_id == program_id,
            columns.external_id.in_(sorted(set(external_ids))),
            # a frozen or closed member's history earns nothing and moves no tier
            members.c.status == MemberStatus.active.value,
        )
        .order_by(columns.member_id, columns.occurred_at, columns.id)
    )
    return [HistoryOrder(*row) for row in rows]


@dataclass(frozen=True)
class HistoryRefund:
    """An imported refund of a member's order, as clawing back needs."""

    id: int
    external_id: str
    order_id: int
    order_external_id: str
    member_id: int
    amount_minor: int
    occurred_at: datetime
    #: What the order's refunds up to this one (in id order) refunded together.
    refunded_minor: int


def history_refunds(
    session: Session, *, program_id: int, external_ids: Sequence[str], earned_only: bool = False
) -> list[HistoryRefund]:
    """The refunds of members' orders among ``external_ids``, by member, then date.

    ``earned_only``: only those whose order earned points or growth.
    """
    if not external_ids:
        return []
    refunds = table(Refund)
    earlier = refunds.alias("earlier")
    refunded_so_far = (
        select(func.coalesce(func.sum(earlier.c.amount_minor), 0))
        .where(earlier.c.order_id == refunds.c.order_id, earlier.c.id <= refunds.c.id)
        .scalar_subquery()
    )
    rows = session.connection().execute(
        select(
            refunds.c.id,
            refunds.c.external_id,
            refunds.c.order_id,
            _orders.c.external_id,
            _orders.c.member_id,
            refunds.c.amount_minor,
            refunds.c.occurred_at,
            refunded_so_far,
        )
        .join(_orders, _orders.c.id == refunds.c.order_id)
        .where(
            refunds.c.program_id == program_id,
            refunds.c.external_id.in_(sorted(set(external_ids))),
            _orders.c.member_id.is_not(None),
            *(
                [or_(_orders.c.points_earned > 0, _orders.c.growth_earned > 0)]
                if earned_only
                else []
            ),
        )
        .order_by(_orders.c.member_id, refunds.c.occurred_at, refunds.c.id)
    )
    # PostgreSQL's SUM of a bigint is a numeric: back to int.
    return [HistoryRefund(*row[:7], int(row[7])) for row in rows]


_SET_EARNED = (
    update(_orders)
    .where(_orders.c.id == bindparam("order"))
    .values(
        eligible_minor=bindparam("eligible"),
        points_earned=bindparam("points"),
        growth_earned=bindparam("growth"),
    )
)
_SET_LINE_WEIGHTS = (
    update(table(OrderLine))
    .where(table(OrderLine).c.order_id == bindparam("order"))
    .values(earn_weight=bindparam("earn_weight_"), growth_weight=bindparam("growth_weight_"))
)


def set_history_earning(
    session: Session,
    *,
    order_id: int,
    eligible_minor: int,
    points: int,
    growth: int,
    earn_weight: int,
    growth_weight: int,
) -> None:
    """Record what an imported order earned, on the order and its one line (if it has one)."""
    connection = session.connection()
    connection.execute(
        _SET_EARNED,
        {"order": order_id, "eligible": eligible_minor, "points": points, "growth": growth},
    )
    connection.execute(
        _SET_LINE_WEIGHTS,
        {"order": order_id, "earn_weight_": earn_weight, "growth_weight_": growth_weight},
    )


def load_order(session: Session, *, order_id: int) -> Order:
    """The order by id (read under its member's lock)."""
    return session.get_one(Order, order_id, populate_existing=True)


def set_history_take_back(
    session: Session,
    *,
    order_id: int,
    refund_id: int,
    totals: dict[str, int],
    refund: dict[str, int],
) -> None:
    """Record what an imported refund took back: the order's running ``totals``, the refund's."""
    connection = session.connection()
    connection.execute(update(_orders).where(_orders.c.id == order_id).values(**totals))
    refunds = table(Refund)
    connection.execute(update(refunds).where(refunds.c.id == refund_id).values(**refund))
