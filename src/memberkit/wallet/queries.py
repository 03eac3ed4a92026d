"""Wallet reads: recharge sums for the wallet screen and for tier conditions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.wallet.models import WalletRecharge


def recharged_per_window(
    session: Session, *, member_id: int, at: datetime, windows: Sequence[int]
) -> dict[int, int]:
    """Sum the member's recharges per window (days back from ``at``; none given: no query)."""
    if not windows:
        return {}
    windows = sorted(windows)
    recharges = table(WalletRecharge)
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (recharges.c.occurred_at > at - timedelta(days=days), recharges.c.amount_minor),
                    else_=0,
                )
            ),
            0,
        )
        for days in windows
    ]
    row = (
        session.connection()
        .execute(
            select(*columns).where(
                recharges.c.member_id == member_id,
                recharges.c.occurred_at > at - timedelta(days=windows[-1]),
                recharges.c.occurred_at <= at,
            )
        )
        .one()
    )
    return {days: int(row[i]) for i, days in enumerate(windows)}


def recharge_totals(session: Session, *, member_id: int) -> tuple[int, int, int]:
    """Return the member's recharged principal, bonus received and count of recharges."""
    recharged, bonus, count = session.execute(
        select(
            func.coalesce(func.sum(WalletRecharge.amount_minor), 0),
            func.coalesce(func.sum(WalletRecharge.bonus_minor), 0),
            func.count(WalletRecharge.id),
        ).where(WalletRecharge.member_id == member_id)
    ).one()
    return int(recharged), int(bonus), int(count)
