"""Coupon use at a checkout: the reads under the member's lock, and the conditional writes.

A coupon is used by one conditional UPDATE (``… WHERE status = 'available'``) and a
template's money budget consumed by another (``… WHERE discount_used_minor + :d <=
budget_minor``): the row count decides, never a read before the write.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from memberkit.coupon.models import Coupon, CouponStatus, CouponTemplate, OrderCoupon
from memberkit.db import table

_coupons = table(Coupon)
_templates = table(CouponTemplate)
_order_coupons = table(OrderCoupon)

_MARK_USED = (
    update(_coupons)
    .where(
        _coupons.c.id == bindparam("b_coupon_id"),
        _coupons.c.member_id == bindparam("b_member_id"),
        _coupons.c.status == CouponStatus.available,
    )
    .values(status=CouponStatus.used, order_id=bindparam("b_order_id"), used_at=bindparam("b_at"))
)
_CONSUME = (
    update(_templates)
    .where(
        _templates.c.id == bindparam("b_template_id"),
        (_templates.c.budget_minor.is_(None))
        | (_templates.c.discount_used_minor + bindparam("b_minor") <= _templates.c.budget_minor),
    )
    .values(discount_used_minor=_templates.c.discount_used_minor + bindparam("b_minor"))
)
_RELEASE = (
    update(_templates)
    .where(_templates.c.id == bindparam("b_template_id"))
    .values(discount_used_minor=_templates.c.discount_used_minor - bindparam("b_minor"))
)
_INSERT_USE = insert(_order_coupons)
#: Built once: the order path names coupons on every order that uses one.
_BY_CODES = (
    select(Coupon, CouponTemplate)
    .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
    .where(
        Coupon.program_id == bindparam("b_program_id"),
        Coupon.code.in_(bindparam("b_codes", expanding=True)),
    )
)


def by_codes(
    session: Session, *, program_id: int, codes: Collection[str]
) -> list[tuple[Coupon, CouponTemplate]]:
    """The program's coupons whose code is one of ``codes``, with their templates."""
    if not codes:
        return []
    return [
        (coupon, template)
        for coupon, template in session.execute(
            _BY_CODES, {"b_program_id": program_id, "b_codes": sorted(set(codes))}
        )
    ]


def available_of(
    session: Session, *, program_id: int, member_id: int, limit: int
) -> list[tuple[Coupon, CouponTemplate]]:
    """The member's coupons not used nor revoked (lapsed ones too), soonest to lapse first."""
    return list(
        session.execute(
            select(Coupon, CouponTemplate)
            .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
            .where(
                Coupon.program_id == program_id,
                Coupon.member_id == member_id,
                Coupon.status == CouponStatus.available,
            )
            .order_by(Coupon.valid_until, Coupon.id)
            .limit(limit)
        )
    )


def mark_used(
    session: Session, *, coupon_id: int, member_id: int, order_id: int, at: datetime
) -> bool:
    """Mark the member's available coupon used by ``order_id``; False if it is not available."""
    result = session.connection().execute(
        _MARK_USED,
        {"b_coupon_id": coupon_id, "b_member_id": member_id, "b_order_id": order_id, "b_at": at},
    )
    return bool(result.rowcount)


def consume_budget(session: Session, *, template_id: int, minor: int) -> bool:
    """Add ``minor`` to the template's used discount within its budget; False if it is spent."""
    result = session.connection().execute(
        _CONSUME, {"b_template_id": template_id, "b_minor": minor}
    )
    return bool(result.rowcount)


def release_budget(session: Session, *, template_id: int, minor: int) -> None:
    """Give ``minor`` of a template's used discount back to its budget (a refund took it)."""
    session.connection().execute(_RELEASE, {"b_template_id": template_id, "b_minor": minor})


def record_uses(session: Session, *, rows: Sequence[dict[str, Any]]) -> None:
    """Write an order's uses of coupons (``order_coupons`` rows)."""
    if rows:
        session.connection().execute(_INSERT_USE, list(rows))


def uses_of(session: Session, *, order_id: int) -> list[tuple[OrderCoupon, Coupon, CouponTemplate]]:
    """An order's uses of coupons with the coupons and their templates, in coupon order."""
    return list(
        session.execute(
            select(OrderCoupon, Coupon, CouponTemplate)
            .join(Coupon, Coupon.id == OrderCoupon.coupon_id)
            .join(CouponTemplate, CouponTemplate.id == OrderCoupon.template_id)
            .where(OrderCoupon.order_id == order_id)
            .order_by(OrderCoupon.coupon_id)
        )
    )


def take_back(session: Session, *, use_id: int, minor: int) -> None:
    """Add ``minor`` to what refunds took back of one use of a coupon."""
    session.execute(
        update(OrderCoupon)
        .where(OrderCoupon.id == use_id)
        .values(taken_back_minor=OrderCoupon.taken_back_minor + minor)
    )


def give_back(
    session: Session, *, use_id: int, coupon_id: int, order_id: int, at: datetime
) -> bool:
    """Make a coupon used by ``order_id`` available again; False if it is not that order's."""
    result = session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon_id,
            Coupon.order_id == order_id,
            Coupon.status == CouponStatus.used,
        )
        .values(status=CouponStatus.available, order_id=None, used_at=None)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(update(OrderCoupon).where(OrderCoupon.id == use_id).values(returned_at=at))
    return True
