"""The reports' reads: sums grouped in the database, never order by order or entry by entry.

Each takes the UTC instants its buckets begin at (``bounds``, the end of the last one after
them) and the stores (None: all) and tier (None: all) to limit it to. Sales are limited by the
store the order was made at; members, points and stored value by the member's home store (as
the liability report is). An order without a member (``member_id`` NULL: a non-member sale)
counts in the sales and as non-member; a tier filter leaves such orders out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from memberkit.analytics.repository import LocalDays
from memberkit.ledger.models import Account, LedgerEntry, LedgerTransaction
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.order.queries import not_fully_refunded
from memberkit.store.models import Store
from memberkit.tier.models import TierChange


def bucket_of(column: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the bucket an instant falls in (``len(bounds) - 1`` after the last)."""
    return case(*((column < end, n) for n, end in enumerate(bounds[1:])), else_=len(bounds) - 1)


def _store_ids(program_id: int, stores: Collection[str]) -> Any:
    return select(Store.id).where(Store.program_id == program_id, Store.code.in_(stores))


@dataclass
class SalesSums:
    """What the orders of one group add up to; counts of orders leave fully refunded ones out."""

    key: Any
    sales_minor: int = 0
    orders: int = 0
    buyers: int = 0
    member_sales_minor: int = 0
    member_orders: int = 0


def sales(
    session: Session,
    *,
    program_id: int,
    bounds: Sequence[datetime],
    stores: Collection[str] | None,
    tier: str | None,
    by: str,
) -> list[SalesSums]:
    """Sum the orders made from ``bounds[0]`` to ``bounds[-1]`` by bucket, store or tier.

    ``by``: ``"bucket"`` (key: the bucket's index), ``"store"`` (the store's code, None:
    online), ``"tier"`` (the member's current tier code, None: non-member), ``"total"``.
    Sales are net of what was refunded of them (``total_minor - refunded_minor``).
    """
    net = Order.total_minor - Order.refunded_minor
    kept = not_fully_refunded(Order.__table__)
    member = Order.member_id.is_not(None)
    keys: dict[str, Any] = {
        "bucket": bucket_of(Order.occurred_at, bounds),
        "store": Store.code,
        "tier": Member.tier_code,
        "total": literal(None),
    }
    key = keys[by].label("key")
    statement = (
        select(
            key,
            func.coalesce(func.sum(net), 0),
            func.coalesce(func.sum(case((kept, 1), else_=0)), 0),
            func.count(func.distinct(case((kept, Order.member_id)))),
            func.coalesce(func.sum(case((member, net), else_=0)), 0),
            func.coalesce(func.sum(case((and_(member, kept), 1), else_=0)), 0),
        )
        .select_from(Order)
        .outerjoin(Member, Member.id == Order.member_id)
        .outerjoin(Store, Store.id == Order.store_id)
        .where(
            Order.program_id == program_id,
            Order.occurred_at >= bounds[0],
            Order.occurred_at < bounds[-1],
        )
        .group_by(key)
    )
    if stores is not None:
        statement = statement.where(Order.store_id.in_(_store_ids(program_id, stores)))
    if tier is not None:
        statement = statement.where(Member.tier_code == tier)
    return [
        SalesSums(row[0], *(int(value) for value in row[1:])) for row in session.execute(statement)
    ]


def ledger_flows(
    session: Session,
    *,
    program_id: int,
    bounds: Sequence[datetime],
    stores: Collection[str] | None,
    tier: str | None,
) -> list[tuple[int, str, str, str, int]]:
    """Sum the entries on the program's system accounts by bucket, asset, account and kind.

    Rows (bucket, asset, account code, transaction kind, Σ amount) of the transactions dated
    (``occurred_at``) in the period. A system account is the counterpart of what members
    gained or lost, so its sums are the flows: what the ``issued`` account gave out, what
    went to ``redeemed``, ``expired``, ``adjusted``, ``recharged``.
    """
    bucket = bucket_of(LedgerTransaction.occurred_at, bounds).label("bucket")
    statement = (
        select(
            bucket,
            LedgerEntry.asset,
            Account.code,
            LedgerTransaction.kind,
            func.sum(LedgerEntry.amount),
        )
        .select_from(LedgerEntry)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .outerjoin(Member, Member.id == LedgerTransaction.member_id)
        .where(
            LedgerTransaction.program_id == program_id,
            LedgerTransaction.occurred_at >= bounds[0],
            LedgerTransaction.occurred_at < bounds[-1],
            Account.member_id.is_(None),
        )
        .group_by(bucket, LedgerEntry.asset, Account.code, LedgerTransaction.kind)
    )
    statement = _member_scope(statement, program_id, stores, tier)
    return [
        (int(n), str(asset), str(code), str(kind), int(total))
        for n, asset, code, kind, total in session.execute(statement)
    ]


def _member_scope(statement: Any, program_id: int, stores: Any, tier: str | None) -> Any:
    if stores is not None:
        statement = statement.where(Member.store_id.in_(_store_ids(program_id, stores)))
    if tier is not None:
        statement = statement.where(Member.tier_code == tier)
    return statement


def member_counts(
    session: Session,
    *,
    program_id: int,
    bounds: Sequence[datetime],
    stores: Collection[str] | None,
    tier: str | None,
    by: str,
) -> list[tuple[Any, int, int, int]]:
    """Count the members registered before ``bounds[-1]``: (key, all, new in period, referred).

    ``by``: ``"bucket"`` (the bucket of registration; key ``len(bounds) - 1`` holds those of
    before the period), ``"tier"``, ``"store"`` (home store's code), ``"channel"``, ``"total"``.
    ``referred`` counts the new ones with a referrer.
    """
    new = Member.created_at >= bounds[0]
    before = len(bounds) - 1
    keys: dict[str, Any] = {
        "bucket": case((new, bucket_of(Member.created_at, bounds)), else_=before),
        "tier": Member.tier_code,
        "store": Store.code,
        "channel": Member.channel,
        "total": literal(None),
    }
    key = keys[by].label("key")
    statement = (
        select(
            key,
            func.count(),
            func.coalesce(func.sum(case((new, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(new, Member.referrer_id.is_not(None)), 1), else_=0)), 0
            ),
        )
        .select_from(Member)
        .outerjoin(Store, Store.id == Member.store_id)
        .where(Member.program_id == program_id, Member.created_at < bounds[-1])
        .group_by(key)
    )
    statement = _member_scope(statement, program_id, stores, tier)
    return [(row[0], int(row[1]), int(row[2]), int(row[3])) for row in session.execute(statement)]


@dataclass(frozen=True)
class LifecycleMarks:
    """The instants that decide each member's lifecycle state as of one local day.

    Each is the start of a program-local day: ``end`` the day after; ``new_from`` the first day
    still within ``new_days``; ``recent`` the first of the last ``dormant_days`` days;
    ``churned_from`` the first of the last ``churned_days``.
    """

    end: datetime
    new_from: datetime
    recent: datetime
    churned_from: datetime
    dormant_days: int


def lifecycle_counts(
    session: Session,
    *,
    program_id: int,
    marks: LifecycleMarks,
    days: LocalDays,
    stores: Collection[str] | None,
    tier: str | None,
) -> dict[str, int]:
    """Count the members registered before ``marks.end`` by lifecycle state on that day.

    The rule of :func:`memberkit.analytics.rules.lifecycle`, decided in the database over
    the orders made before ``marks.end`` (fully refunded ones are no purchase); a test holds
    the two equal, state by state. ``days`` counts the won-back gap in local days, each
    instant at its own offset (as the refresh counts it).
    """
    made = Order.occurred_at
    stats = (
        select(
            Order.member_id.label("member_id"),
            func.min(made).label("first"),
            func.max(made).label("last"),
            func.min(case((made >= marks.recent, made))).label("recent_first"),
            func.max(case((made < marks.recent, made))).label("previous"),
        )
        .where(
            Order.program_id == program_id,
            Order.member_id.is_not(None),
            made < marks.end,
            not_fully_refunded(Order.__table__),
        )
        .group_by(Order.member_id)
        .subquery()
    )
    gap = days.between(days.local(stats.c.previous), days.local(stats.c.recent_first))
    joined = Member.created_at
    state = case(
        (
            stats.c.last.is_(None),
            case(
                (joined < marks.churned_from, "churned"),
                (joined >= marks.new_from, "new"),
                else_="dormant",
            ),
        ),
        (stats.c.last < marks.churned_from, "churned"),
        (stats.c.last < marks.recent, "dormant"),
        (stats.c.first >= marks.new_from, "new"),
        (
            and_(
                stats.c.recent_first.is_not(None),
                stats.c.previous.is_not(None),
                gap > marks.dormant_days,
            ),
            "won_back",
        ),
        else_="active",
    ).label("state")
    statement = (
        select(state, func.count())
        .select_from(Member)
        .outerjoin(stats, stats.c.member_id == Member.id)
        .where(Member.program_id == program_id, joined < marks.end)
        .group_by(state)
    )
    statement = _member_scope(statement, program_id, stores, tier)
    return {str(name): int(count) for name, count in session.execute(statement)}


def buyers_by_orders(
    session: Session,
    *,
    program_id: int,
    start: datetime,
    end: datetime,
    stores: Collection[str] | None,
    tier: str | None,
) -> tuple[int, int]:
    """Return (members with ≥ 1 order, members with ≥ 2) among the orders of the period.

    Orders fully refunded are not purchases; orders are limited to those made at ``stores``.
    """
    kept = not_fully_refunded(Order.__table__)
    per_member = (
        select(Order.member_id, func.count().label("orders"))
        .select_from(Order)
        .join(Member, Member.id == Order.member_id)
        .where(
            Order.program_id == program_id,
            Order.occurred_at >= start,
            Order.occurred_at < end,
            kept,
        )
        .group_by(Order.member_id)
    )
    if stores is not None:
        per_member = per_member.where(Order.store_id.in_(_store_ids(program_id, stores)))
    if tier is not None:
        per_member = per_member.where(Member.tier_code == tier)
    counted = per_member.subquery()
    once, twice = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((counted.c.orders >= 2, 1), else_=0)), 0),
        )
    ).one()
    return int(once), int(twice)


def cohorts(
    session: Session,
    *,
    program_id: int,
    bounds: Sequence[datetime],
    stores: Collection[str] | None,
    tier: str | None,
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Members by month of joining, and of them who bought in each month.

    ``bounds``: the UTC instants the local months begin, and the end of the last. Returns
    ({joining month: members}, {(joining month, month of purchase): members who bought}),
    months as indexes into ``bounds``. Members are limited by home store and tier; their
    purchases (orders not fully refunded) count wherever they were made.
    """
    joined = bucket_of(Member.created_at, bounds).label("joined")
    window = [
        Member.program_id == program_id,
        Member.created_at >= bounds[0],
        Member.created_at < bounds[-1],
    ]
    sizes_statement = _member_scope(
        select(joined, func.count()).where(*window).group_by(joined), program_id, stores, tier
    )
    sizes = {int(n): int(count) for n, count in session.execute(sizes_statement)}
    bought = bucket_of(Order.occurred_at, bounds).label("bought")
    active = (
        select(joined, bought, Order.member_id)
        .select_from(Order)
        .join(Member, Member.id == Order.member_id)
        .where(
            *window,
            Order.occurred_at >= bounds[0],
            Order.occurred_at < bounds[-1],
            not_fully_refunded(Order.__table__),
        )
        .distinct()
    )
    counted = _member_scope(active, program_id, stores, tier).subquery()
    cells = {
        (int(j), int(b)): int(count)
        for j, b, count in session.execute(
            select(counted.c.joined, counted.c.bought, func.count()).group_by(
                counted.c.joined, counted.c.bought
            )
        )
    }
    return sizes, cells


def tier_moves(
    session: Session,
    *,
    program_id: int,
    bounds: Sequence[datetime],
    stores: Collection[str] | None,
    tier: str | None,
) -> list[tuple[int, str, str, str, int]]:
    """Count the tier history's moves in the period: (bucket, from, to, reason, moves).

    A review that kept the tier (from = to) is no move and is left out. ``tier`` limits it
    to the members now in that tier.
    """
    bucket = bucket_of(TierChange.at, bounds).label("bucket")
    statement = (
        select(bucket, TierChange.from_code, TierChange.to_code, TierChange.reason, func.count())
        .select_from(TierChange)
        .join(Member, Member.id == TierChange.member_id)
        .where(
            TierChange.program_id == program_id,
            TierChange.at >= bounds[0],
            TierChange.at < bounds[-1],
            TierChange.from_code != TierChange.to_code,
        )
        .group_by(bucket, TierChange.from_code, TierChange.to_code, TierChange.reason)
    )
    statement = _member_scope(statement, program_id, stores, tier)
    return [
        (int(n), str(a), str(b), str(reason), int(count))
        for n, a, b, reason, count in session.execute(statement)
    ]
