"""Wallet writes: the recharge record, and the look-up that keeps it unique."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.wallet.models import WalletRecharge

_INSERT_RECHARGE = insert(table(WalletRecharge))


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
