"""Reads of the analytics domain: purchases per member (SQL over ``orders``) and RFM counts.

A *purchase* is an order of a member (``member_id`` not null; live and imported history
alike) that is not fully refunded: its value is ``total_minor - refunded_minor``, and an order
whose refunds reach its total (``refunded_minor > 0`` and ``refunded_minor >= total_minor``)
does not count at all. An order paid wholly by points or coupons (total 0, never refunded)
is a purchase of value 0.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, not_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from memberkit.analytics.models import MemberRfm, RfmRefresh
from memberkit.analytics.rules import Lifecycle
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.store.models import Store


@dataclass(frozen=True)
class Bounds:
    """The UTC instants a refresh reads orders by, each the start of a program-local day.

    ``window``: the RFM window's first day; ``recent``: the first day of the last
    ``dormant_days`` (what the won-back rule looks at); ``end``: the day after ``as_of``.
    """

    window: datetime
    recent: datetime
    end: datetime


def _purchases(program_id: int, end: datetime) -> ColumnElement[bool]:
    fully_refunded = and_(Order.refunded_minor > 0, Order.refunded_minor >= Order.total_minor)
    return and_(
        # ``+ 0``: no index. The refresh reads (nearly) every order of the program, and a scan
        # of the table in its own order is 4× faster on SQLite than walking the index on
        # (program_id, occurred_at) with a random look-up of each row.
        Order.program_id + 0 == program_id,
        Order.member_id.is_not(None),
        Order.occurred_at < end,
        not_(fully_refunded),
    )


def purchase_stats_select(
    *, program_id: int, bounds: Bounds, member_ids: Collection[int] | None = None
) -> Select[Any]:
    """Each member's purchases, one SQL ``GROUP BY member_id`` over ``orders``.

    Columns: ``member_id``, first and last purchase ever (``first_at``, ``last_at``),
    ``count`` and net sum (``monetary``) in the window, first purchase at or after
    ``bounds.recent`` (``recent_first_at``) and last one before it (``previous_at``). Members
    who never bought have no row. ``member_ids`` narrows it to those members.
    """
    in_window = Order.occurred_at >= bounds.window
    value = Order.total_minor - Order.refunded_minor
    statement = (
        select(
            Order.member_id.label("member_id"),
            func.min(Order.occurred_at).label("first_at"),
            func.max(Order.occurred_at).label("last_at"),
            func.coalesce(func.sum(case((in_window, 1), else_=0)), 0).label("count"),
            func.coalesce(func.sum(case((in_window, value), else_=0)), 0).label("monetary"),
            func.min(case((Order.occurred_at >= bounds.recent, Order.occurred_at))).label(
                "recent_first_at"
            ),
            func.max(case((Order.occurred_at < bounds.recent, Order.occurred_at))).label(
                "previous_at"
            ),
        )
        .where(_purchases(program_id, bounds.end))
        .group_by(Order.member_id)
    )
    if member_ids is not None:
        statement = statement.where(Order.member_id.in_(member_ids))
    return statement


def purchase_stats(
    session: Session,
    *,
    program_id: int,
    bounds: Bounds,
    member_ids: Collection[int] | None = None,
    batch: int = 10_000,
) -> Iterator[Any]:
    """The rows of :func:`purchase_stats_select`, streamed."""
    statement = purchase_stats_select(program_id=program_id, bounds=bounds, member_ids=member_ids)
    # Core rows on the session's connection: no ORM result machinery per row.
    yield from session.connection().execute(statement.execution_options(yield_per=batch))


def members_registered(
    session: Session, *, program_id: int, member_ids: Collection[int] | None = None
) -> Iterator[Any]:
    """Every member of the program (or those of ``member_ids``) and when they registered."""
    statement = select(Member.id, Member.created_at).where(Member.program_id == program_id)
    if member_ids is not None:
        statement = statement.where(Member.id.in_(member_ids))
    yield from session.connection().execute(statement.execution_options(yield_per=10_000))


def latest_refresh(session: Session, *, program_id: int) -> RfmRefresh | None:
    """The program's last full refresh (its cut-offs score incremental refreshes), if any."""
    return session.scalars(
        select(RfmRefresh)
        .where(RfmRefresh.program_id == program_id)
        .order_by(RfmRefresh.id.desc())
        .limit(1)
    ).first()


def member_rfm(session: Session, *, member_id: int) -> MemberRfm | None:
    """One member's stored RFM and lifecycle, if a refresh has reached them."""
    return session.get(MemberRfm, member_id)


def store_ids(session: Session, *, program_id: int, codes: Collection[str]) -> list[int]:
    """The ids of the program's stores of ``codes`` (unknown codes are left out)."""
    return list(
        session.scalars(
            select(Store.id).where(Store.program_id == program_id, Store.code.in_(codes))
        )
    )


def _scoped(
    program_id: int, store_ids: Collection[int] | None, tier_codes: Collection[str] | None
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [MemberRfm.program_id == program_id]
    if store_ids is not None or tier_codes is not None:
        members = select(Member.id).where(Member.program_id == program_id)
        if store_ids is not None:
            members = members.where(Member.store_id.in_(store_ids))
        if tier_codes is not None:
            members = members.where(Member.tier_code.in_(tier_codes))
        where.append(MemberRfm.member_id.in_(members))
    return where


def _counts(
    session: Session,
    column: Any,
    where: list[ColumnElement[bool]],
) -> dict[str | None, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column))
    return {key: count for key, count in rows}


def lifecycle_counts(
    session: Session,
    *,
    program_id: int,
    store_ids: Collection[int] | None = None,
    tier_codes: Collection[str] | None = None,
) -> dict[str, int]:
    """Members per lifecycle state as of the last refresh, read from ``member_rfm``.

    Every state of :class:`~memberkit.analytics.rules.Lifecycle` is a key (0 when none).
    ``store_ids`` narrows to members whose home store (``members.store_id``) is one of
    them, ``tier_codes`` to members now in one of those tiers; None: no narrowing.
    """
    found = _counts(session, MemberRfm.lifecycle, _scoped(program_id, store_ids, tier_codes))
    return {state.value: found.get(state.value, 0) for state in Lifecycle}


@dataclass(frozen=True)
class Counts:
    """Members per class, per active class, per lifecycle state and per (R, F) score cell."""

    members: int
    classes: dict[str | None, int]
    active: dict[str | None, int]
    lifecycle: dict[str | None, int]
    grid: dict[tuple[int, int], int]


def counts(
    session: Session, *, program_id: int, store_ids: Collection[int] | None = None
) -> Counts:
    """The stored RFM's counts (members of ``store_ids`` only, if given)."""
    where = _scoped(program_id, store_ids, None)
    classes = _counts(session, MemberRfm.rfm_class, where)
    grid_rows = session.execute(
        select(MemberRfm.r_score, MemberRfm.f_score, func.count())
        .where(*where, MemberRfm.rfm_class.is_not(None))
        .group_by(MemberRfm.r_score, MemberRfm.f_score)
    )
    return Counts(
        members=sum(classes.values()),
        classes=classes,
        active=_counts(session, MemberRfm.active_class, where),
        lifecycle=_counts(session, MemberRfm.lifecycle, where),
        grid={(r, f): n for r, f, n in grid_rows},
    )
