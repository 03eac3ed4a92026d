"""The analytics section: the RFM window and threshold, and the lifecycle's days."""

from __future__ import annotations

from pydantic import BaseModel, Field

from memberkit.analytics.rules import DEFAULT_ANALYTICS, MAX_DAYS, AnalyticsRules, parse_analytics
from memberkit.kit.i18n import _
from memberkit.kit.sections import Section


class AnalyticsSettings(BaseModel):
    """The RFM window and threshold, and the lifecycle's spans, in days.

    RFM over the last ``window_days`` days; high is a score ≥ ``at`` (``cut`` "score") or
    better than the mean (``cut`` "mean"), for the eight classes and the three active classes
    alike; lifecycle: new within ``new_days``, dormant (沉睡) after ``dormant_days`` without a
    purchase, churned after ``churned_days`` (``new_days`` ≤ ``dormant_days`` < ``churned_days``).
    """

    window_days: int = Field(default=365, ge=1, le=MAX_DAYS)
    cut: str = Field(default="score", examples=["score", "mean"])
    at: int = Field(default=4, ge=1, le=5)
    new_days: int = Field(default=30, ge=1, le=MAX_DAYS)
    dormant_days: int = Field(default=90, ge=1, le=MAX_DAYS)
    churned_days: int = Field(default=180, ge=1, le=MAX_DAYS)


ANALYTICS: Section[AnalyticsRules] = Section(
    name="analytics",
    title=_("RFM and lifecycle"),
    parse=parse_analytics,
    default=lambda: dict(DEFAULT_ANALYTICS),
    model=AnalyticsSettings,
    render=lambda _raw, rules: rules.config(),
)
