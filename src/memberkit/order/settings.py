"""The earning section: points and growth per currency unit, multipliers, exclusions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from memberkit.kit.i18n import _
from memberkit.kit.sections import Section
from memberkit.order.rules import EarningRules

#: The earning section of a program that never set it, in its canonical (stored) form.
DEFAULT_EARNING: dict[str, Any] = EarningRules().config()


class DateMultiplierSetting(BaseModel):
    """More points on some days: one of ``weekday`` (1 = Monday), ``month_day`` or ``date``."""

    multiplier: str = Field(examples=["2"])
    weekday: int | None = Field(default=None, ge=1, le=7)
    month_day: int | None = Field(default=None, ge=1, le=31)
    date: str | None = Field(default=None, examples=["2026-11-11"])
    name: str = Field(default="", max_length=50, examples=["会员日"])


class EarningSettings(BaseModel):
    """What an order earns per currency unit of eligible spend (before the tier multiplier)."""

    points_per_unit: str = Field(default="1", examples=["1"])
    growth_per_unit: str = Field(default="1", examples=["1"])
    rounding: str = Field(default="floor", examples=["floor", "half_up"])
    min_order_amount: str = Field(default="0.00", examples=["1.00"])
    max_order_amount: str = Field(
        default="50000.00",
        description="The largest amount one order may have; a larger one is refused "
        "(order_amount_implausible). More than 0, at most 100000000.00.",
        examples=["50000.00"],
    )
    excluded_categories: list[str] = Field(default_factory=list, examples=[["gift_card"]])
    category_multipliers: dict[str, str] = Field(default_factory=dict, examples=[{"beauty": "1.5"}])
    store_multipliers: dict[str, str] = Field(default_factory=dict, examples=[{"SH001": "2"}])
    date_multipliers: list[DateMultiplierSetting] = Field(default_factory=list)


EARNING: Section[EarningRules] = Section(
    name="earning",
    title=_("Earning rules"),
    parse=EarningRules.from_config,
    default=EarningRules().config,
    model=EarningSettings,
    render=lambda _raw, rules: rules.config(),
)
