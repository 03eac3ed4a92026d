"""Coupon writes and locks: templates, their atomic budget, issued coupons, bulk batches."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.coupon.models import Coupon, CouponBatch, CouponStatus, CouponTemplate
from memberkit.db import table


def template_by_code(session: Session, *, program_id: int, code: str) -> CouponTemplate | None:
    """Return the program's template with this code."""
    return session.scalar(
        select(CouponTemplate).where(
            CouponTemplate.program_id == program_id, CouponTemplate.code == code
        )
    )


def add_template(session: Session, *, template: CouponTemplate) -> CouponTemplate:
    """Insert a template."""
    session.add(template)
    session.flush()
    return template


def flagged(
    session: Session,
    *,
    program_id: int,
    on_registration: bool = False,
    on_upgrade_tiers: frozenset[str] = frozenset(),
    on_birthday: bool = False,
) -> list[CouponTemplate]:
    """Return the active templates given by themselves on registration, upgrade or birthday."""
    templates = select(CouponTemplate).where(
        CouponTemplate.program_id == program_id, CouponTemplate.active.is_(True)
    )
    if on_registration:
        templates = templates.where(CouponTemplate.on_registration.is_(True))
    if on_upgrade_tiers:
        templates = templates.where(CouponTemplate.on_upgrade_tier.in_(sorted(on_upgrade_tiers)))
    if on_birthday:
        templates = templates.where(CouponTemplate.on_birthday.is_(True))
    return list(session.scalars(templates.order_by(CouponTemplate.id)))


def consume_budget(session: Session, *, template_id: int) -> bool:
    """Count one more coupon issued, below ``budget_count``: tell whether there was room.

    One conditional UPDATE: on PostgreSQL the row lock it takes makes concurrent issues of the
    last units wait and re-check, so ``issued`` never passes the budget.
    """
    templates = table(CouponTemplate)
    done = (
        session.connection()
        .execute(
            update(templates)
            .where(
                templates.c.id == template_id,
                or_(
                    templates.c.budget_count.is_(None),
                    templates.c.issued < templates.c.budget_count,
                ),
            )
            .values(issued=templates.c.issued + 1)
        )
        .rowcount
    )
    return bool(done)


def coupon_for(
    session: Session, *, template_id: int, member_id: int | None, batch_key: str
) -> Coupon | None:
    """Return the coupon of this template issued to the member under ``batch_key``."""
    return session.scalar(
        select(Coupon).where(
            Coupon.template_id == template_id,
            Coupon.member_id.is_(None) if member_id is None else Coupon.member_id == member_id,
            Coupon.batch_key == batch_key,
        )
    )


def held_count(session: Session, *, template_id: int, member_id: int) -> int:
    """Count the member's coupons of a template, used or not (a revoked one not counted).

    The caller holds the member's lock: the count stays true until it commits.
    """
    return int(
        session.scalar(
            select(func.count()).where(
                Coupon.template_id == template_id,
                Coupon.member_id == member_id,
                Coupon.status != CouponStatus.revoked,
            )
        )
        or 0
    )


def code_taken(session: Session, *, program_id: int, code: str) -> bool:
    """Tell whether the program has a coupon with this code."""
    return bool(
        session.scalar(
            select(Coupon.id).where(Coupon.program_id == program_id, Coupon.code == code)
        )
    )


def insert_coupon(session: Session, *, values: Mapping[str, Any]) -> Coupon | None:
    """Insert a coupon in a savepoint; None if its code (or batch key) is taken meanwhile."""
    coupon = Coupon(**values)
    try:
        with session.begin_nested():
            session.add(coupon)
            session.flush()
    except IntegrityError:
        return None
    return coupon


def coupon_by_code(session: Session, *, program_id: int, code: str) -> Coupon | None:
    """Return the program's coupon with this code."""
    return session.scalar(
        select(Coupon).where(Coupon.program_id == program_id, Coupon.code == code)
    )


def mark_revoked(session: Session, *, coupon_id: int, at: datetime, reason: str) -> bool:
    """Revoke an available coupon, once: tell whether this call did (a conditional UPDATE)."""
    coupons = table(Coupon)
    done = (
        session.connection()
        .execute(
            update(coupons)
            .where(coupons.c.id == coupon_id, coupons.c.status == CouponStatus.available)
            .values(status=CouponStatus.revoked, revoked_at=at, revoke_reason=reason)
        )
        .rowcount
    )
    return bool(done)


def add_batch(session: Session, *, batch: CouponBatch) -> CouponBatch:
    """Insert a bulk-issue batch."""
    session.add(batch)
    session.flush()
    return batch


def batch_by_external_id(
    session: Session, *, program_id: int, external_id: str
) -> CouponBatch | None:
    """Return the program's batch with this external id."""
    return session.scalar(
        select(CouponBatch).where(
            CouponBatch.program_id == program_id, CouponBatch.external_id == external_id
        )
    )


def lock_batch(session: Session, *, batch_id: int) -> CouponBatch | None:
    """Lock a batch's row until commit (one runner at a time goes on with it)."""
    return session.scalar(select(CouponBatch).where(CouponBatch.id == batch_id).with_for_update())
