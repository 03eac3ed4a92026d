"""Request and response models of the foresight API (pydantic)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from memberkit.kit.schemas import Input, LocalTime, MoneyOut


class FitIn(Input):
    """Fit now: on the orders up to ``as_of`` (the program's local date; default today)."""

    as_of: date | None = None
    holdout_days: int = Field(182, ge=1, le=3650)


class BgNbdOut(BaseModel):
    """BG/NBD: purchase rate Gamma(r, α) per day, dropout after a purchase Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


class GammaGammaOut(BaseModel):
    """Gamma-Gamma: spend per purchase Gamma(p, ν), ν ~ Gamma(q, v); v in minor units."""

    p: float
    q: float
    v: float


class FitOut(BaseModel):
    """A fit of the program's model: parameters (time unit: days), date and diagnostics."""

    id: int
    status: str
    #: Why a failed fit failed (``too_few_repeat_buyers``); empty when fitted.
    message: str
    fitted_at: LocalTime
    as_of: date
    members_used: int
    repeat_buyers: int
    bgnbd: BgNbdOut | None
    gamma_gamma: GammaGammaOut | None
    #: Plain numbers: log-likelihood, effort, and the calibration/holdout comparison.
    diagnostics: dict[str, Any]


class MemberForecastOut(BaseModel):
    """A member's forecast from the program's latest successful fit."""

    member_no: str
    fit_id: int
    #: P(still active), 0..1 (stored in millionths); churn risk is 1 − p_alive.
    p_alive: float
    churn_risk: float
    expected_purchases_90d: float
    expected_value_12m: MoneyOut
    computed_at: LocalTime
