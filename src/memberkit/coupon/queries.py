"""Coupon reads for screens and reports: templates, a member's coupons, figures per template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from memberkit.coupon.models import (
    Coupon,
    CouponBatch,
    CouponStatus,
    CouponTemplate,
    OrderCoupon,
)
from memberkit.db import Base
from memberkit.member.models import Member, MemberStatus, MemberTag
from memberkit.store.models import Store


def templates(session: Session, *, program_id: int) -> list[CouponTemplate]:
    """Every template of the program, newest first."""
    return list(
        session.scalars(
            select(CouponTemplate)
            .where(CouponTemplate.program_id == program_id)
            .order_by(CouponTemplate.id.desc())
        )
    )


def of_member(
    session: Session, *, member_id: int, limit: int = 200
) -> list[tuple[Coupon, CouponTemplate]]:
    """The member's coupons with their templates, newest first."""
    rows = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.member_id == member_id)
        .order_by(Coupon.id.desc())
        .limit(limit)
    ).all()
    return [(coupon, template) for coupon, template in rows]


@dataclass(frozen=True)
class Figures:
    """What a template's coupons came to: counts by state, the discount and the sales."""

    issued: int
    used: int
    expired: int
    outstanding: int
    revoked: int
    discount_minor: int
    sales_minor: int
    orders: int


def figures(session: Session, *, template_id: int, now: datetime) -> Figures:
    """Count a template's coupons by state as of ``now`` and sum what their orders came to.

    Expired: available but past ``valid_until``; outstanding: available and still valid (the
    liability). The discount is what orders took off less what refunds took back; the sales
    are the totals of the orders that used one of them, each order once.
    """
    available = Coupon.status == CouponStatus.available
    counts = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Coupon.status == CouponStatus.used, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(available, Coupon.valid_until <= now), 1), else_=0)), 0
            ),
            func.coalesce(
                func.sum(case((and_(available, Coupon.valid_until > now), 1), else_=0)), 0
            ),
            func.coalesce(func.sum(case((Coupon.status == CouponStatus.revoked, 1), else_=0)), 0),
        ).where(Coupon.template_id == template_id)
    ).one()
    discount = session.scalar(
        select(
            func.coalesce(func.sum(OrderCoupon.discount_minor - OrderCoupon.taken_back_minor), 0)
        ).where(OrderCoupon.template_id == template_id)
    )
    # The orders table by name: the order domain sits above coupons (its checkout uses them).
    orders_table = Base.metadata.tables["orders"]
    used_by = (
        select(OrderCoupon.order_id.label("order_id"))
        .where(OrderCoupon.template_id == template_id)
        .distinct()
        .subquery()
    )
    orders, sales = session.execute(
        select(func.count(), func.coalesce(func.sum(orders_table.c.total_minor), 0)).select_from(
            used_by.join(orders_table, orders_table.c.id == used_by.c.order_id)
        )
    ).one()
    issued, used, expired, outstanding, revoked = (int(n) for n in counts)
    return Figures(
        issued=issued,
        used=used,
        expired=expired,
        outstanding=outstanding,
        revoked=revoked,
        discount_minor=int(discount or 0),
        sales_minor=int(sales),
        orders=int(orders),
    )


@dataclass(frozen=True)
class MemberFilter:
    """Which active members a bulk issue goes to; None leaves a criterion open.

    ``since`` and ``until`` bound the registration moment ([since, until), UTC).
    """

    tier_code: str | None = None
    tag: str | None = None
    store_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def member_ids(session: Session, *, program_id: int, wanted: MemberFilter) -> list[int]:
    """The ids of the program's active members matching ``wanted``, oldest first."""
    found = select(Member.id).where(
        Member.program_id == program_id, Member.status == MemberStatus.active
    )
    if wanted.tier_code is not None:
        found = found.where(Member.tier_code == wanted.tier_code)
    if wanted.tag is not None:
        found = found.where(
            Member.id.in_(
                select(MemberTag.member_id).where(
                    MemberTag.program_id == program_id, MemberTag.tag == wanted.tag
                )
            )
        )
    if wanted.store_code is not None:
        found = found.join(Store, Store.id == Member.store_id).where(
            Store.code == wanted.store_code
        )
    if wanted.since is not None:
        found = found.where(Member.created_at >= wanted.since)
    if wanted.until is not None:
        found = found.where(Member.created_at < wanted.until)
    return list(session.scalars(found.order_by(Member.id)))


def members_with_birthdays(session: Session, *, program_id: int) -> list[Member]:
    """The program's active members who gave a birthday (sealed: the caller opens it)."""
    return list(
        session.scalars(
            select(Member)
            .where(
                Member.program_id == program_id,
                Member.status == MemberStatus.active,
                Member.birthday_enc.is_not(None),
            )
            .order_by(Member.id)
        )
    )


def batches(session: Session, *, program_id: int, limit: int = 50) -> list[CouponBatch]:
    """The program's latest bulk issues, newest first."""
    return list(
        session.scalars(
            select(CouponBatch)
            .where(CouponBatch.program_id == program_id)
            .order_by(CouponBatch.id.desc())
            .limit(limit)
        )
    )


def batch(session: Session, *, program_id: int, batch_id: int) -> CouponBatch | None:
    """The program's batch with this id."""
    return session.scalar(
        select(CouponBatch).where(CouponBatch.program_id == program_id, CouponBatch.id == batch_id)
    )


def unfinished_batches(session: Session) -> list[tuple[int, int]]:
    """The (id, program id) of the batches not finished, oldest first (a restart resumes them)."""
    rows = session.execute(
        select(CouponBatch.id, CouponBatch.program_id)
        .where(CouponBatch.state.in_(("pending", "running")))
        .order_by(CouponBatch.id)
    ).all()
    return [(batch_id, program_id) for batch_id, program_id in rows]


def codes_under(session: Session, *, program_id: int, batch_prefix: str) -> list[str]:
    """The codes of the program's coupons issued under batch keys starting ``batch_prefix``."""
    return list(
        session.scalars(
            select(Coupon.code)
            .where(Coupon.program_id == program_id, Coupon.batch_key.startswith(batch_prefix))
            .order_by(Coupon.batch_key, Coupon.id)
        )
    )
