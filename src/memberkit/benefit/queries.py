"""Benefit reads for screens: the program's benefits with their grants, a member's uses."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from memberkit.benefit.models import Benefit, BenefitGrant, BenefitUse
from memberkit.benefit.rules import BenefitKind
from memberkit.store.models import Store


def benefits(session: Session, *, program_id: int) -> list[Benefit]:
    """Every benefit of the program, system ones first, then by code."""
    return list(
        session.scalars(
            select(Benefit).where(Benefit.program_id == program_id).order_by(Benefit.id)
        )
    )


def grants(session: Session, *, program_id: int) -> list[BenefitGrant]:
    """Every grant of the program's benefits."""
    return list(
        session.scalars(
            select(BenefitGrant)
            .where(BenefitGrant.program_id == program_id)
            .order_by(BenefitGrant.benefit_id, BenefitGrant.tier_code)
        )
    )


def uses_of(session: Session, *, member_id: int, limit: int = 50) -> list[BenefitUse]:
    """The member's latest uses, newest first."""
    return list(
        session.scalars(
            select(BenefitUse)
            .where(BenefitUse.member_id == member_id)
            .order_by(BenefitUse.used_at.desc(), BenefitUse.id.desc())
            .limit(limit)
        )
    )


def recent_uses(
    session: Session, *, member_id: int, store_code: str | None, limit: int
) -> list[tuple[BenefitUse, str, str, str | None]]:
    """The member's latest uses (at one store, if given), newest first, named, with a store."""
    statement = (
        select(BenefitUse, Benefit.code, Benefit.name, Store.code)
        .join(Benefit, Benefit.id == BenefitUse.benefit_id)
        .outerjoin(Store, Store.id == BenefitUse.store_id)
        .where(BenefitUse.member_id == member_id)
    )
    if store_code is not None:
        statement = statement.where(Store.code == store_code)
    statement = statement.order_by(BenefitUse.used_at.desc(), BenefitUse.id.desc()).limit(limit)
    return [(use, code, name, store) for use, code, name, store in session.execute(statement)]


_DISCOUNT_RATE = (
    select(func.min(BenefitGrant.value))
    .join(Benefit, Benefit.id == BenefitGrant.benefit_id)
    .where(
        Benefit.program_id == bindparam("program_id"),
        Benefit.kind == BenefitKind.discount,
        Benefit.active.is_(True),
        BenefitGrant.tier_code == bindparam("tier_code"),
    )
)


def discount_rate(session: Session, *, program_id: int, tier_code: str) -> int | None:
    """The rate a member of ``tier_code`` pays (9500 = 95 %) by the tier discount, or None."""
    rate: int | None = (
        session.connection()
        .execute(_DISCOUNT_RATE, {"program_id": program_id, "tier_code": tier_code})
        .scalar()
    )
    return rate
