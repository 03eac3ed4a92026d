"""Wallet writes: the recharge and refund records, and the look-ups that keep them unique."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.wallet.models import WalletRecharge, WalletRefund

_INSERT_RECHARGE = insert(table(WalletRecharge))
_INSERT_REFUND = insert(table(WalletRefund))


def recharge_exists(session: Session, *, program_id: int, external_id: str) -> bool:
    """Tell whether the program has recorded a recharge with this external id."""
    return bool(
        session.scalar(
            select(WalletRecharge.id).where(
                WalletRecharge.program_id == program_id, WalletRecharge.external_id == external_id
            )
        )
    )


def insert_recharge(
    session: Session,
    *,
    program_id: int,
    external_id: str,
    member_id: int,
    store_id: int | None,
    method: str,
    amount_minor: int,
    bonus_minor: int,
    occurred_at: datetime,
    created_at: datetime,
) -> None:
    """Record one recharge (its ledger posting is the caller's)."""
    session.execute(
        _INSERT_RECHARGE,
        {
            "program_id": program_id,
            "external_id": external_id,
            "member_id": member_id,
            "store_id": store_id,
            "method": method,
            "amount_minor": amount_minor,
            "bonus_minor": bonus_minor,
            "occurred_at": occurred_at,
            "created_at": created_at,
        },
    )


def recharge_of(
    session: Session, *, program_id: int, member_id: int, external_id: str
) -> WalletRecharge | None:
    """Return the member's recharge with this external id (the caller holds the member lock)."""
    return session.scalar(
        select(WalletRecharge).where(
            WalletRecharge.program_id == program_id,
            WalletRecharge.member_id == member_id,
            WalletRecharge.external_id == external_id,
        )
    )


def refund_exists(session: Session, *, program_id: int, external_id: str) -> bool:
    """Tell whether the program has recorded a refund of a recharge with this external id."""
    return bool(
        session.scalar(
            select(WalletRefund.id).where(
                WalletRefund.program_id == program_id, WalletRefund.external_id == external_id
            )
        )
    )


def record_refund(
    session: Session,
    *,
    recharge: WalletRecharge,
    external_id: str,
    store_id: int | None,
    method: str,
    amount_minor: int,
    bonus_forfeited_minor: int,
    reason: str,
    occurred_at: datetime,
    created_at: datetime,
) -> bool:
    """Record a refund of ``recharge`` and add it to the recharge's totals.

    The totals grow by one conditional UPDATE that never lets the refunded principal pass what
    was paid in; tell whether it held (False: nothing was written).
    """
    recharges = table(WalletRecharge)
    grown = (
        session.connection()
        .execute(
            update(recharges)
            .where(
                recharges.c.id == recharge.id,
                recharges.c.refunded_minor + amount_minor <= recharges.c.amount_minor,
            )
            .values(
                refunded_minor=recharges.c.refunded_minor + amount_minor,
                bonus_forfeited_minor=recharges.c.bonus_forfeited_minor + bonus_forfeited_minor,
            )
        )
        .rowcount
    )
    if grown != 1:
        return False
    session.execute(
        _INSERT_REFUND,
        {
            "program_id": recharge.program_id,
            "external_id": external_id,
            "recharge_id": recharge.id,
            "member_id": recharge.member_id,
            "store_id": store_id,
            "method": method,
            "amount_minor": amount_minor,
            "bonus_forfeited_minor": bonus_forfeited_minor,
            "reason": reason,
            "occurred_at": occurred_at,
            "created_at": created_at,
        },
    )
    return True
