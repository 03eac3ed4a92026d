"""Read side of the ledger: balances with expiring lots, statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from memberkit.ledger.models import PointsLot
from memberkit.ledger.repository import member_balances


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


def points(session: Session, *, member_id: int, horizon: datetime) -> PointsView:
    """Return the balance and open lots; ``expiring_within`` sums lots expiring before horizon."""
    balance = member_balances(session, member_id=member_id).get("points", 0)
    rows = session.execute(
        select(PointsLot.remaining, PointsLot.earned_at, PointsLot.expires_at)
        .where(PointsLot.member_id == member_id, PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)
    )
    lots = [LotView(r.remaining, r.earned_at, r.expires_at) for r in rows]
    soon = sum(
        lot.remaining for lot in lots if lot.expires_at is not None and lot.expires_at <= horizon
    )
    return PointsView(balance=balance, debt=max(0, -balance), expiring_within=soon, lots=lots)
