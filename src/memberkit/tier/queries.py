"""Tier reads for screens and reports: history, grace notices, the what-if population."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.ledger.models import Account, AccountCode, Asset
from memberkit.member.models import Member, MemberStatus
from memberkit.order import queries as order_queries
from memberkit.order.models import Order
from memberkit.tier.models import TierChange, TierNotice


@dataclass(frozen=True)
class TierChangeView:
    """One entry of a member's tier history, tiers named by the codes they had then."""

    from_code: str
    to_code: str
    reason: str
    at: datetime
    note: str | None
    actor: str | None


def history(session: Session, *, member_id: int, limit: int = 100) -> list[TierChangeView]:
    """Return the member's tier moves, newest first."""
    rows = session.execute(
        select(
            TierChange.from_code,
            TierChange.to_code,
            TierChange.reason,
            TierChange.at,
            TierChange.note,
            TierChange.actor,
        )
        .where(TierChange.member_id == member_id)
        .order_by(TierChange.id.desc())
        .limit(limit)
    )
    return [TierChangeView(*row) for row in rows]


def _current_notice() -> Any:
    """Join a notice to its member while it still applies: same review, same tier."""
    return and_(
        TierNotice.member_id == Member.id,
        TierNotice.review_at == Member.tier_review_at,
        TierNotice.tier_code == Member.tier_code,
    )


def upcoming_notices(
    session: Session, *, program_id: int, offset: int, limit: int
) -> tuple[int, Sequence[Row[str, str, datetime, str, datetime]]]:
    """Return (total, page) of notices still applying, soonest review first.

    Each row: member_no, tier_code, review_at, expected_code, recorded at.
    """
    current = and_(_current_notice(), TierNotice.program_id == program_id)
    total = session.scalar(select(func.count()).select_from(TierNotice).join(Member, current))
    rows = session.execute(
        select(
            Member.member_no,
            Member.tier_code,
            TierNotice.review_at,
            TierNotice.expected_code,
            TierNotice.at,
        )
        .join(Member, current)
        .order_by(TierNotice.review_at, Member.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return int(total or 0), rows


def pending_notice(
    session: Session, *, member_id: int, review_at: datetime
) -> Row[str, datetime] | None:
    """Return (expected_code, at) of the notice still applying to that review, if any."""
    return session.execute(
        select(TierNotice.expected_code, TierNotice.at)
        .join(Member, _current_notice())
        .where(TierNotice.member_id == member_id, TierNotice.review_at == review_at)
    ).one_or_none()


def _population(
    program_id: int, *, now: datetime, spend_days: int, history: bool
) -> Select[tuple[str, int, int]]:
    """Per open member: today's tier code, growth balance and net spend in the window."""
    orders, members, accounts = table(Order), table(Member), table(Account)
    spend = (
        select(
            orders.c.member_id,
            func.sum(orders.c.total_minor - orders.c.refunded_minor).label("spend"),
        )
        .where(
            orders.c.program_id == program_id,
            orders.c.occurred_at > now - timedelta(days=spend_days),
            orders.c.occurred_at <= now,
            order_queries.counts_for_rules(orders, history=history),
        )
        .group_by(orders.c.member_id)
        .subquery()
    )
    return (
        select(
            members.c.tier_code.label("code"),
            func.coalesce(accounts.c.balance, 0).label("growth"),
            func.coalesce(spend.c.spend, 0).label("spend"),
        )
        .select_from(members)
        .outerjoin(
            accounts,
            and_(
                accounts.c.member_id == members.c.id,
                accounts.c.asset == Asset.growth.value,
                accounts.c.code == AccountCode.member.value,
            ),
        )
        .outerjoin(spend, spend.c.member_id == members.c.id)
        .where(members.c.program_id == program_id, members.c.status != MemberStatus.closed.value)
    )


def _bucket(column: ColumnElement[int], edges: tuple[int, ...]) -> ColumnElement[int]:
    return case(
        *[(column >= edge, index) for index, edge in reversed(list(enumerate(edges)))],
        else_=0,
    )


def simulation_groups(
    session: Session,
    *,
    program_id: int,
    levels: int,
    growth: Sequence[int],
    spend: Sequence[int] | None,
    spend_days: int,
    growth_edges: tuple[int, ...],
    spend_edges: tuple[int, ...],
    now: datetime,
    history: bool = False,
) -> Sequence[Row[str, int, int, int, int]]:
    """Group the program's open members for a what-if over ``levels`` tiers.

    A member reaches level n (n ≥ 1) with growth ``growth[n-1]``, or spend ``spend[n-1]``
    over ``spend_days`` when it is above 0. Each row: today's tier code, the level reached,
    the growth bucket and the spend bucket (indexes into the edges), and the member count.
    """
    population = _population(program_id, now=now, spend_days=spend_days, history=history).subquery()
    conditions = []
    for level in range(levels - 1, 0, -1):
        reaches = [population.c.growth >= growth[level - 1]]
        if spend is not None and spend[level - 1] > 0:
            reaches.append(population.c.spend >= spend[level - 1])
        conditions.append((or_(*reaches), level))
    proposed = case(*conditions, else_=0)
    today = population.c.code
    growth_bucket = _bucket(population.c.growth, growth_edges)
    spend_bucket = _bucket(population.c.spend, spend_edges)
    # One pass over the members: every answer is a sum over these (at most a few thousand) groups.
    return session.execute(
        select(today, proposed, growth_bucket, spend_bucket, func.count())
        .select_from(population)
        .group_by(today, proposed, growth_bucket, spend_bucket)
    ).all()
