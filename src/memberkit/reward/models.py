"""The points catalog (积分商城): its rewards and each redemption of one by a member.

``Reward.stock`` (None: unlimited) and ``Reward.redeemed`` are changed by one conditional
UPDATE per redemption or cancellation, never read then written. Points are whole points, the
cash part (积分+现金) integer minor units (分).
"""

from __future__ import annotations

from datetime import datetime
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


class Reward(Base):
    """One item of the program's catalog, named by its code.

    ``tiers`` lists the tier codes that may redeem it (empty: every tier); ``limit_count``
    redemptions per member per ``limit_period`` (None: no limit); ``available_from`` and
    ``available_until`` bound when it may be redeemed (限时兑换; None: open). A ``coupon``
    reward names the template it issues from (``coupon_template_id``).
    """

    __tablename__ = "rewards"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(500), default="")
    picture_url: Mapped[str] = mapped_column(String(500), default="")
    points: Mapped[int] = mapped_column(BigInteger)
    cash_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    stock: Mapped[int | None] = mapped_column(Integer)
    redeemed: Mapped[int] = mapped_column(Integer, default=0)
    limit_count: Mapped[int | None] = mapped_column(Integer)
    limit_period: Mapped[str] = mapped_column(String(8), default="once")
    available_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    available_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Redemption(Base):
    """One redemption (兑换) of a reward by a member, at most one per external id.

    ``points`` and ``cash_minor`` are what the whole quantity cost; the cash part is taken at
    the till when the reward is picked up. ``status`` moves ``pending`` → ``fulfilled`` (picked
    up at ``fulfilled_store_id``) or ``pending`` → ``cancelled`` (points and stock returned).
    """

    __tablename__ = "redemptions"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        Index("ix_redemptions_member_reward", "member_id", "reward_id", "redeemed_at"),
        Index("ix_redemptions_program_status", "program_id", "status", "redeemed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    reward_id: Mapped[int] = mapped_column(ForeignKey("rewards.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(BigInteger)
    cash_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100), default="")
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilled_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    fulfilled_by: Mapped[str] = mapped_column(String(100), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")
    cancelled_by: Mapped[str] = mapped_column(String(100), default="")
