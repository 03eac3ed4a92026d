"""Tier history (会员等级变动): every move of a member between tiers; grace notices."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class TierChangeReason(StrEnum):
    """Why a member's tier changed."""

    upgrade = "upgrade"  # an event qualified the member for a higher tier
    retained = "retained"  # the period-end review kept the tier (a new period starts)
    downgrade = "downgrade"  # the review moved the member down
    grant = "grant"  # an operator set the tier by hand, until a date
    ladder_change = "ladder_change"  # a new ladder dropped the tier; its ``moves`` said where
    refund = "refund"  # a refund undid the qualification an upgrade stood on


class TierChange(Base):
    """One move (or a kept tier at review); at most one per idempotency key.

    Tiers are named by code, as the ladder named them then. ``since`` and ``review_at`` are
    the member's tier dates the move set (unknown for moves recorded before they were kept),
    so a refund that undoes an upgrade can put back the dates the member had before it.
    """

    __tablename__ = "tier_changes"
    __table_args__ = (
        UniqueConstraint("program_id", "idempotency_key"),
        Index("ix_tier_changes_member", "member_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    from_code: Mapped[str] = mapped_column(String(32))
    to_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(16))
    # Keys embed a caller's external id (up to 100) plus a suffix such as ":referrer-tier:5".
    idempotency_key: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TierNotice(Base):
    """A grace notice: judged ``notice_days`` before a review, the member would move down.

    At most one per member and review; recorded by the review job, read with the member's tier.
    """

    __tablename__ = "tier_notices"
    __table_args__ = (
        UniqueConstraint("member_id", "review_at"),
        Index("ix_tier_notices_program_review", "program_id", "review_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    tier_code: Mapped[str] = mapped_column(String(32))
    expected_code: Mapped[str] = mapped_column(String(32))
    review_at: Mapped[datetime] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
