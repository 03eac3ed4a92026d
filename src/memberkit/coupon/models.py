"""Coupons (优惠券): templates, the coupons issued from them, and their use by orders.

Money is in integer minor units (分), rates in basis points. A template's counters are the
atomic budget: ``issued`` rises by a conditional UPDATE below ``budget_count`` when a coupon is
issued, ``discount_used_minor`` by a conditional UPDATE below ``budget_minor`` when an order
uses one; a refund that takes a discount back lowers it again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class CouponStatus(StrEnum):
    """Where an issued coupon stands; lapsing is read from ``valid_until``, not stored."""

    available = "available"
    used = "used"
    revoked = "revoked"


class CouponSource(StrEnum):
    """How a coupon came to its holder."""

    hand = "hand"
    bulk = "bulk"
    registration = "registration"  # 新人礼
    upgrade = "upgrade"  # 升级礼包
    birthday = "birthday"
    reward = "reward"  # a points-catalog redemption
    imported = "imported"  # a partner's codes


class CouponTemplate(Base):
    """What a coupon gives, where and when it applies, and how many may be given.

    ``scope`` holds the include/exclude lists (``stores``, ``exclude_stores``, ``channels``,
    ``categories``, ``exclude_categories``, ``skus``, ``exclude_skus``) of
    :class:`memberkit.coupon.rules.Scope`. Validity is either fixed (``valid_from`` /
    ``valid_until``) or ``valid_days`` after issue (with ``valid_until`` as an optional last
    day). ``per_member_limit`` bounds the coupons of this template one member may hold at once
    issued (used or not; a revoked one no longer counts).
    """

    __tablename__ = "coupon_templates"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[str] = mapped_column(String(16))
    off_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    threshold_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    percent_bp: Mapped[int] = mapped_column(Integer, default=0)
    cap_minor: Mapped[int | None] = mapped_column(BigInteger)
    gift_sku: Mapped[str | None] = mapped_column(String(64))
    min_spend_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    with_coupons: Mapped[bool] = mapped_column(Boolean, default=False)
    with_tier_discount: Mapped[bool] = mapped_column(Boolean, default=True)
    with_points: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    per_member_limit: Mapped[int | None] = mapped_column(Integer)
    budget_count: Mapped[int | None] = mapped_column(Integer)
    budget_minor: Mapped[int | None] = mapped_column(BigInteger)
    #: Whether a refund of the whole of what a coupon discounted gives the coupon back
    #: (when it is still valid then).
    return_on_refund: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Given to every member who registers (新人礼), when active (migration 0017).
    on_registration: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Given once to a member who is upgraded to this tier (升级礼包), when active.
    on_upgrade_tier: Mapped[str | None] = mapped_column(String(32))
    #: Given on the member's birthday, once a year, by the daily job, when active.
    on_birthday: Mapped[bool] = mapped_column(Boolean, default=False)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    discount_used_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Coupon(Base):
    """One coupon, held by a member (or, for imported codes, not yet given to one).

    At most one coupon per (template, member, ``batch_key``): issuing again with the same key
    is a replay. ``valid_from``/``valid_until`` are fixed at issue ([from, until), UTC).
    """

    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("program_id", "code"),
        UniqueConstraint("template_id", "member_id", "batch_key"),
        Index("ix_coupons_member_status", "member_id", "status"),
        Index("ix_coupons_template_status", "template_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default=CouponStatus.available)
    source: Mapped[str] = mapped_column(String(16))
    batch_key: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100), default="")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The order that used it (cleared when a refund gives it back; history in order_coupons).
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str] = mapped_column(String(200), default="")


class OrderCoupon(Base):
    """A coupon's use by one order: what it took off, what refunds took back since.

    Kept when the coupon is given back (``returned_at``), so an order's history stays whole.
    """

    __tablename__ = "order_coupons"
    __table_args__ = (UniqueConstraint("order_id", "coupon_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), index=True)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    taken_back_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: What it took off each line ({line_no: minor units}): a refund takes back a line's share.
    by_line: Mapped[dict[str, int] | None] = mapped_column(JSON)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BatchState(StrEnum):
    """Where a bulk issue stands."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class CouponBatch(Base):
    """A bulk issue of one template to a list of members, run in the background.

    ``member_ids`` is the list resolved when the batch was made (from a CSV of card numbers or
    phones, or from a filter of members); ``done`` members of it have been handled, so a run
    resumes there. Each coupon is issued with the batch key ``batch:<id>``: a member handled
    twice (a run cut short before its progress was saved) gets nothing twice. ``problems``
    holds the first refusals, row by row (migration 0017).
    """

    __tablename__ = "coupon_batches"
    __table_args__ = (UniqueConstraint("program_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    member_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default=BatchState.pending)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    actor: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
