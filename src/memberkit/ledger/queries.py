"""Read side of the ledger: balances with expiring lots, statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from memberkit.kit.time import as_utc
from memberkit.ledger.models import PointsLot
from memberkit.ledger.repository import live_points
from memberkit.member.models import Member


@dataclass(frozen=True)
class LotView:
    """Points still held in one lot and when they expire."""

    remaining: int
    earned_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class PointsView:
    """A member's points: balance, debt, and the lots ordered by expiry."""

    balance: int
    debt: int
    expiring_within: int
    lots: list[LotView]


def points(session: Session, *, member_id: int, now: datetime, horizon: datetime) -> PointsView:
    """Return the balance and open lots; ``expiring_within`` sums lots expiring before horizon.

    Lots already past their expiry at ``now`` count nowhere, whether or not the expiry job
    has reached them yet.
    """
    balance = live_points(session, member_id=member_id, as_of=now)
    rows = session.execute(
        select(PointsLot.remaining, PointsLot.earned_at, PointsLot.expires_at)
        .where(
            PointsLot.member_id == member_id,
            PointsLot.remaining > 0,
            or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > now),
        )
        .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)
    )
    lots = [LotView(r.remaining, r.earned_at, r.expires_at) for r in rows]
    soon = sum(
        lot.remaining for lot in lots if lot.expires_at is not None and lot.expires_at <= horizon
    )
    return PointsView(balance=balance, debt=max(0, -balance), expiring_within=soon, lots=lots)


@dataclass(frozen=True)
class ExpiringRow:
    """A member with points expiring soon: how many, and the first expiry."""

    member_no: str
    points: int
    first_expiry: datetime


def expiring(
    session: Session,
    *,
    program_id: int,
    now: datetime,
    horizon: datetime,
    offset: int,
    limit: int,
) -> tuple[int, int, list[ExpiringRow]]:
    """Return (members, points, page) of points expiring after ``now`` by ``horizon``.

    Soonest first; lots already past expiry (not yet reached by the job) are not listed.
    """
    due = (
        select(
            PointsLot.member_id,
            func.sum(PointsLot.remaining).label("points"),
            func.min(PointsLot.expires_at).label("first_expiry"),
        )
        .where(
            PointsLot.program_id == program_id,
            PointsLot.remaining > 0,
            PointsLot.expires_at > now,
            PointsLot.expires_at <= horizon,
        )
        .group_by(PointsLot.member_id)
        .subquery()
    )
    members, points = session.execute(
        select(func.count(), func.coalesce(func.sum(due.c.points), 0))
    ).one()
    rows = session.execute(
        select(Member.member_no, due.c.points, due.c.first_expiry)
        .join(Member, Member.id == due.c.member_id)
        .order_by(due.c.first_expiry, Member.member_no)
        .offset(offset)
        .limit(limit)
    )
    return (
        int(members),
        int(points),
        [ExpiringRow(row.member_no, int(row.points), as_utc(row.first_expiry)) for row in rows],
    )
