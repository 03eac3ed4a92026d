"""Benefits (权益): what a program offers, which tiers get it with what quota, and each use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class Benefit(Base):
    """One benefit of a program, named by its code; the system kinds cannot be removed."""

    __tablename__ = "benefits"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    code: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(500), default="")
    icon: Mapped[str] = mapped_column(String(32), default="ti-gift")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BenefitGrant(Base):
    """A benefit given to a tier: ``quota`` uses per ``period`` (None: no limit) and a value.

    ``value`` is what the kind needs: the rate a member pays for ``discount`` (9500 = 95 %),
    the hours for ``parking``; otherwise 0.
    """

    __tablename__ = "benefit_grants"
    __table_args__ = (UniqueConstraint("benefit_id", "tier_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"))
    tier_code: Mapped[str] = mapped_column(String(32))
    quota: Mapped[int | None] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    value: Mapped[int] = mapped_column(Integer, default=0)


class BenefitUse(Base):
    """One verification (核销) of a benefit for a member, at most one per external id.

    ``period_start`` is the start of the quota period it counts in (for a quota given
    ``once``: when the member reached the tier). An undone use counts no more.
    """

    __tablename__ = "benefit_uses"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        Index("ix_benefit_uses_member_period", "member_id", "benefit_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    benefit_id: Mapped[int] = mapped_column(ForeignKey("benefits.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    tier_code: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100), default="")
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undo_reason: Mapped[str] = mapped_column(String(200), default="")
