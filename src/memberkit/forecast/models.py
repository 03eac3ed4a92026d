"""Foresight's tables: each fit of the model and the member forecasts it wrote.

``member_forecasts`` is read by segments ("high value at risk", "likely to buy soon"): one row per
member of a program, replaced whole by each successful fit. Its figures are integers:

- ``p_alive_ppm``: P(still active) in millionths (0..1,000,000); churn risk = 1 − p_alive.
- ``expected_purchases_90d_milli``: expected purchase days in the next 90 days, in thousandths.
- ``expected_value_12m_minor``: expected spend in the next 365 days, minor units (分), half-up.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class FitStatus(StrEnum):
    """Whether a fit produced parameters."""

    fitted = "fitted"
    failed = "failed"


class ForecastFit(Base):
    """One fit of BG/NBD + Gamma-Gamma on a program's orders up to ``as_of`` (time unit: days).

    The parameters are statistics of the model (floats), never amounts. ``diagnostics`` is JSON of
    plain numbers: the calibration/holdout comparison and the fit's effort.
    """

    __tablename__ = "forecast_fits"
    __table_args__ = (Index("ix_forecast_fits_program_fitted", "program_id", "fitted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    #: The machine-readable reason a fit failed (e.g. ``too_few_repeat_buyers``).
    message: Mapped[str] = mapped_column(Text, default="")
    members_used: Mapped[int] = mapped_column(Integer, default=0)
    repeat_buyers: Mapped[int] = mapped_column(Integer, default=0)
    r: Mapped[float | None] = mapped_column(Float)
    alpha: Mapped[float | None] = mapped_column(Float)
    a: Mapped[float | None] = mapped_column(Float)
    b: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)
    q: Mapped[float | None] = mapped_column(Float)
    v: Mapped[float | None] = mapped_column(Float)
    diagnostics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MemberForecast(Base):
    """A member's forecast from the program's latest successful fit (see the module docstring)."""

    __tablename__ = "member_forecasts"
    __table_args__ = (
        Index("ix_member_forecasts_program_member", "program_id", "member_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    fit_id: Mapped[int] = mapped_column(ForeignKey("forecast_fits.id"))
    p_alive_ppm: Mapped[int] = mapped_column(Integer)
    expected_purchases_90d_milli: Mapped[int] = mapped_column(BigInteger)
    expected_value_12m_minor: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
