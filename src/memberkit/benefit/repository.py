"""Benefit writes: definitions, grants, uses, and the system benefits every program has."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from memberkit.benefit.models import Benefit, BenefitGrant, BenefitUse
from memberkit.benefit.rules import BenefitKind
from memberkit.db import table
from memberkit.member.models import Member

#: The benefits the platform applies itself, opened for every program (names are its data).
SYSTEM_BENEFITS = (
    ("tier_discount", BenefitKind.discount, "会员折扣", "ti-discount"),
    ("member_price", BenefitKind.member_price, "会员价", "ti-tag"),
    ("free_shipping", BenefitKind.free_shipping, "会员包邮", "ti-truck-delivery"),
)


def ensure_system_benefits(session: Session, *, program_id: int) -> None:
    """Open the program's system benefits that do not exist yet."""
    there = set(session.scalars(select(Benefit.code).where(Benefit.program_id == program_id)))
    rows = [
        {
            "program_id": program_id,
            "code": code,
            "kind": kind,
            "name": name,
            "description": "",
            "icon": icon,
            "active": True,
        }
        for code, kind, name, icon in SYSTEM_BENEFITS
        if code not in there
    ]
    if rows:
        session.execute(insert(Benefit), rows)


def by_code(session: Session, *, program_id: int, code: str) -> Benefit | None:
    """Return the program's benefit with this code."""
    return session.scalar(
        select(Benefit).where(Benefit.program_id == program_id, Benefit.code == code)
    )


def add(session: Session, *, benefit: Benefit) -> Benefit:
    """Insert a benefit."""
    session.add(benefit)
    session.flush()
    return benefit


def remove(session: Session, *, benefit: Benefit) -> None:
    """Delete a benefit that was never used, with its grants."""
    session.execute(delete(BenefitGrant).where(BenefitGrant.benefit_id == benefit.id))
    session.delete(benefit)
    session.flush()


def was_used(session: Session, *, benefit_id: int) -> bool:
    """Tell whether a benefit has any use (a used benefit is kept, only deactivated)."""
    return bool(session.scalar(select(BenefitUse.id).where(BenefitUse.benefit_id == benefit_id)))


def replace_grants(
    session: Session,
    *,
    program_id: int,
    benefit_id: int,
    grants: Sequence[tuple[str, int | None, str, int]],
) -> None:
    """Replace a benefit's grants with ``(tier_code, quota, period, value)`` rows."""
    session.execute(delete(BenefitGrant).where(BenefitGrant.benefit_id == benefit_id))
    if grants:
        session.execute(
            insert(BenefitGrant),
            [
                {
                    "program_id": program_id,
                    "benefit_id": benefit_id,
                    "tier_code": tier,
                    "quota": quota,
                    "period": period,
                    "value": value,
                }
                for tier, quota, period, value in grants
            ],
        )


def grant_for(session: Session, *, benefit_id: int, tier_code: str) -> BenefitGrant | None:
    """Return the grant of one benefit to one tier, if it has one (read under the member lock)."""
    return session.scalars(
        select(BenefitGrant).where(
            BenefitGrant.benefit_id == benefit_id, BenefitGrant.tier_code == tier_code
        )
    ).one_or_none()


def use_exists(session: Session, *, program_id: int, external_id: str) -> bool:
    """Tell whether the program has recorded a use with this external id."""
    return bool(
        session.scalar(
            select(BenefitUse.id).where(
                BenefitUse.program_id == program_id, BenefitUse.external_id == external_id
            )
        )
    )


def used_in(
    session: Session, *, member_id: int, benefit_id: int, period_start: datetime | None
) -> int:
    """Count what the member used of a benefit in one quota period (undone uses not counted).

    The caller holds the member's lock: what this reads stays true until it commits.
    """
    return int(
        session.scalar(
            select(func.coalesce(func.sum(BenefitUse.quantity), 0)).where(
                BenefitUse.member_id == member_id,
                BenefitUse.benefit_id == benefit_id,
                BenefitUse.period_start.is_(None)
                if period_start is None
                else BenefitUse.period_start == period_start,
                BenefitUse.undone_at.is_(None),
            )
        )
        or 0
    )


def record_use(session: Session, **values: object) -> BenefitUse:
    """Record one use."""
    use = BenefitUse(**values)
    session.add(use)
    session.flush()
    return use


def use_of(session: Session, *, program_id: int, external_id: str) -> BenefitUse | None:
    """Return the use with this external id."""
    return session.scalar(
        select(BenefitUse).where(
            BenefitUse.program_id == program_id, BenefitUse.external_id == external_id
        )
    )


def mark_undone(session: Session, *, use_id: int, at: datetime, reason: str) -> bool:
    """Mark a use undone, once: tell whether this call did (a conditional UPDATE decides)."""
    uses = table(BenefitUse)
    done = (
        session.connection()
        .execute(
            update(uses)
            .where(uses.c.id == use_id, uses.c.undone_at.is_(None))
            .values(undone_at=at, undo_reason=reason)
        )
        .rowcount
    )
    return bool(done)


def tier_since(session: Session, *, member_id: int) -> datetime | None:
    """When the member reached their tier (a quota given ``once`` counts from then)."""
    return session.scalar(select(Member.tier_since).where(Member.id == member_id))
