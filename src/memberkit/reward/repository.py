"""Catalog writes: rewards, their stock (one conditional UPDATE each way), redemptions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.reward.models import Redemption, Reward
from memberkit.reward.rules import RedemptionStatus


def by_code(session: Session, *, program_id: int, code: str) -> Reward | None:
    """Return the program's reward with this code."""
    return session.scalar(
        select(Reward).where(Reward.program_id == program_id, Reward.code == code)
    )


def add(session: Session, *, reward: Reward) -> Reward:
    """Insert a reward."""
    session.add(reward)
    session.flush()
    return reward


def take_stock(session: Session, *, reward_id: int, quantity: int) -> bool:
    """Take ``quantity`` units of a reward: tell whether there were enough.

    One conditional UPDATE decides (unlimited stock always has enough); it holds the reward's
    row until the transaction ends, so two redemptions of the last unit never both pass.
    """
    rewards = table(Reward)
    done = (
        session.connection()
        .execute(
            update(rewards)
            .where(
                rewards.c.id == reward_id,
                (rewards.c.stock.is_(None)) | (rewards.c.stock >= quantity),
            )
            .values(
                stock=rewards.c.stock - quantity,
                redeemed=rewards.c.redeemed + quantity,
            )
        )
        .rowcount
    )
    return bool(done)


def return_stock(session: Session, *, reward_id: int, quantity: int) -> None:
    """Put back ``quantity`` units of a cancelled redemption (unlimited stock stays so)."""
    rewards = table(Reward)
    session.connection().execute(
        update(rewards)
        .where(rewards.c.id == reward_id)
        .values(stock=rewards.c.stock + quantity, redeemed=rewards.c.redeemed - quantity)
    )


def redemption_exists(session: Session, *, program_id: int, external_id: str) -> bool:
    """Tell whether the program has a redemption with this external id."""
    return bool(
        session.scalar(
            select(Redemption.id).where(
                Redemption.program_id == program_id, Redemption.external_id == external_id
            )
        )
    )


def redeemed_in(
    session: Session,
    *,
    member_id: int,
    reward_id: int,
    start: datetime | None,
    end: datetime | None,
) -> int:
    """Count the units the member redeemed of a reward in ``[start, end)`` (None: unbounded).

    Cancelled redemptions do not count. The caller holds the member's lock: what this reads
    stays true until it commits.
    """
    conditions = [
        Redemption.member_id == member_id,
        Redemption.reward_id == reward_id,
        Redemption.status != RedemptionStatus.cancelled,
    ]
    if start is not None:
        conditions.append(Redemption.redeemed_at >= start)
    if end is not None:
        conditions.append(Redemption.redeemed_at < end)
    return int(
        session.scalar(select(func.coalesce(func.sum(Redemption.quantity), 0)).where(*conditions))
        or 0
    )


def record(session: Session, **values: Any) -> Redemption:
    """Record one redemption."""
    made = Redemption(**values)
    session.add(made)
    session.flush()
    return made


def redemption_of(session: Session, *, program_id: int, external_id: str) -> Redemption | None:
    """Return the redemption with this external id."""
    return session.scalar(
        select(Redemption).where(
            Redemption.program_id == program_id, Redemption.external_id == external_id
        )
    )


def settle(
    session: Session, *, redemption_id: int, status: RedemptionStatus, values: dict[str, Any]
) -> bool:
    """Move a pending redemption to ``status``, once: tell whether this call did.

    A conditional UPDATE on ``status = 'pending'`` decides, so a pickup and a cancellation
    racing each other cannot both happen.
    """
    redemptions = table(Redemption)
    done = (
        session.connection()
        .execute(
            update(redemptions)
            .where(
                redemptions.c.id == redemption_id,
                redemptions.c.status == RedemptionStatus.pending,
            )
            .values(status=status, **values)
        )
        .rowcount
    )
    return bool(done)
