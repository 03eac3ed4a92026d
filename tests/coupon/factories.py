"""Coupon rows for tests, inserted directly (issuance has its own service and tests)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from memberkit.benefit import service as benefit_service
from memberkit.benefit.rules import Period
from memberkit.coupon.models import Coupon, CouponSource, CouponStatus, CouponTemplate
from memberkit.coupon.rules import new_code
from memberkit.kit.time import utcnow
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig

_serial = itertools.count(1)


def make_template(
    session: Session, program: ProgramConfig, *, kind: str = "cash", **changes: Any
) -> CouponTemplate:
    """A template of ``kind`` (a ¥10.00 cash voucher unless told otherwise)."""
    values: dict[str, Any] = {
        "program_id": program.id,
        "code": f"T{next(_serial)}",
        "name": "代金券",
        "kind": kind,
        "off_minor": 1000,
        "scope": {},
        "with_coupons": False,
        "with_tier_discount": True,
        "with_points": True,
        "return_on_refund": True,
        "active": True,
        "issued": 0,
        "discount_used_minor": 0,
    }
    template = CouponTemplate(**{**values, **changes})
    session.add(template)
    session.flush()
    return template


def make_coupon(
    session: Session,
    template: CouponTemplate,
    member: Member | None,
    *,
    code: str | None = None,
    **changes: Any,
) -> Coupon:
    """An available coupon of ``template`` held by ``member``, valid from a day ago for 30 days."""
    now = utcnow()
    values: dict[str, Any] = {
        "program_id": template.program_id,
        "template_id": template.id,
        "member_id": member.id if member is not None else None,
        "code": code or new_code(),
        "status": CouponStatus.available,
        "source": CouponSource.hand,
        "batch_key": f"B{next(_serial)}",
        "valid_from": now - timedelta(days=1),
        "valid_until": now + timedelta(days=30),
        "issued_at": now - timedelta(days=1),
        "actor": "test",
    }
    coupon = Coupon(**{**values, **changes})
    session.add(coupon)
    session.flush()
    return coupon


def grant_tier_discount(
    session: Session,
    program: ProgramConfig,
    *,
    rate: int = 9500,
    tier: str = "regular",
    every_tier: bool = False,
) -> None:
    """Give ``tier`` (or every tier) the tier discount: its members pay ``rate`` (9500 = 95 %)."""
    tiers = [t.code for t in program.ladder.tiers] if every_tier else [tier]
    benefit_service.grant(
        session,
        program=program,
        code="tier_discount",
        grants=[benefit_service.GrantIn(code, None, Period.month, rate) for code in tiers],
    )


def at(days: int) -> datetime:
    """A moment ``days`` from now."""
    return utcnow() + timedelta(days=days)
