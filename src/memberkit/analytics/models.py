"""Tables of the analytics domain: each member's RFM and lifecycle, and each full refresh."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class MemberRfm(Base):
    """One member's RFM and lifecycle as of a day, replaced by every refresh.

    ``recency_days``: days since the last purchase ever (None: never bought);
    ``frequency`` and ``monetary_minor``: purchases in the window and their net sum (0 if none).
    A member without a purchase in the window scores 1, 1, 1 and has no class
    (``rfm_class`` and ``active_class`` None). ``recent_first_on`` and ``previous_on`` are
    what the won-back rule reads (see :mod:`memberkit.analytics.rules`).
    """

    __tablename__ = "member_rfm"
    __table_args__ = (
        Index("ix_member_rfm_program_class", "program_id", "rfm_class"),
        Index("ix_member_rfm_program_lifecycle", "program_id", "lifecycle"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    as_of: Mapped[date] = mapped_column(Date)
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary_minor: Mapped[int] = mapped_column(BigInteger)
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    rfm_class: Mapped[str | None] = mapped_column(String(24))
    active_class: Mapped[str | None] = mapped_column(String(16))
    lifecycle: Mapped[str] = mapped_column(String(16))
    first_purchase_on: Mapped[date | None] = mapped_column(Date)
    last_purchase_on: Mapped[date | None] = mapped_column(Date)
    recent_first_on: Mapped[date | None] = mapped_column(Date)
    previous_on: Mapped[date | None] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RfmRefresh(Base):
    """A full refresh of a program's RFM: its settings, cut-offs and sums, and how it went.

    The latest one is what an incremental refresh scores a few members against.
    ``cutoffs`` holds ``recency``, ``frequency`` and ``monetary``: four whole numbers each
    (see :class:`memberkit.analytics.rules.Cutoffs`); None when nobody was scored.
    """

    __tablename__ = "rfm_refreshes"
    __table_args__ = (Index("ix_rfm_refreshes_program", "program_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    as_of: Mapped[date] = mapped_column(Date)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    members: Mapped[int] = mapped_column(Integer)
    scored: Mapped[int] = mapped_column(Integer)
    cutoffs: Mapped[dict[str, list[int]] | None] = mapped_column(JSON)
    sum_days: Mapped[int] = mapped_column(BigInteger)
    sum_count: Mapped[int] = mapped_column(BigInteger)
    sum_monetary: Mapped[int] = mapped_column(BigInteger)
    milliseconds: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
