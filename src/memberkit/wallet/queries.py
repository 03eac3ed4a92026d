"""Wallet reads: recharge sums for the wallet screen and for tier conditions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.store.models import Store
from memberkit.wallet.models import WalletRecharge


def recharged_per_window(
    session: Session, *, member_id: int, at: datetime, windows: Sequence[int]
) -> dict[int, int]:
    """Sum the member's recharges per window (days back from ``at``; none given: no query).

    What refunds paid back of a recharge does not count: a tier condition on recharges
    judges the money that stayed in.
    """
    if not windows:
        return {}
    windows = sorted(windows)
    recharges = table(WalletRecharge)
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (
                        recharges.c.occurred_at > at - timedelta(days=days),
                        recharges.c.amount_minor - recharges.c.refunded_minor,
                    ),
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


def recharge_totals(session: Session, *, member_id: int) -> tuple[int, int, int, int]:
    """Return the member's recharged principal, bonus, count of recharges, principal refunded."""
    recharged, bonus, count, refunded = session.execute(
        select(
            func.coalesce(func.sum(WalletRecharge.amount_minor), 0),
            func.coalesce(func.sum(WalletRecharge.bonus_minor), 0),
            func.count(WalletRecharge.id),
            func.coalesce(func.sum(WalletRecharge.refunded_minor), 0),
        ).where(WalletRecharge.member_id == member_id)
    ).one()
    return int(recharged), int(bonus), int(count), int(refunded)


def recharges_of(
    session: Session, *, member_id: int, limit: int = 50
) -> list[tuple[WalletRecharge, str | None]]:
    """Return the member's latest recharges, newest first, each with its store's code."""
    rows = session.execute(
        select(WalletRecharge, Store.code)
        .outerjoin(Store, Store.id == WalletRecharge.store_id)
        .where(WalletRecharge.member_id == member_id)
        .order_by(WalletRecharge.occurred_at.desc(), WalletRecharge.id.desc())
        .limit(limit)
    )
    return [(recharge, code) for recharge, code in rows]
