"""The order sections: earning (points and growth per unit, multipliers) and history."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from memberkit.kit.i18n import TextError, _
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


class HistoryEarn(StrEnum):
    """What imported history earns: nothing, growth only, or points and growth."""

    none = "none"
    growth = "growth"
    all = "all"


@dataclass(frozen=True)
class HistoryRules:
    """How imported history (orders with ``source = history``) counts.

    ``earn``: with ``none`` (the default) history earns nothing: no ledger posting, no member
    lock (the import's fast path). With ``growth`` each imported order of a member earns the
    growth the program's rules give on the order's own date, with ``all`` its points too
    (:mod:`memberkit.order.history`): the same decision and postings as a live order, dated
    at the order, so a lot whose validity ended before the import is born expired.

    ``counts_for_tiers``: whether history orders count in the figures tier conditions read
    (spend windows, order counts, invitees who bought). Off by default: history stays in
    reports and the member's record. Growth history earned counts wherever growth does.
    """

    earn: HistoryEarn = HistoryEarn.none
    counts_for_tiers: bool = False

    @property
    def earns(self) -> bool:
        """Whether imported orders earn anything (points or growth)."""
        return self.earn is not HistoryEarn.none

    @property
    def replays(self) -> bool:
        """Whether imported orders go through the member pipeline (earning or tiers)."""
        return self.earns or self.counts_for_tiers

    def config(self) -> dict[str, Any]:
        """The section as stored and shown."""
        return {"earn": self.earn.value, "counts_for_tiers": self.counts_for_tiers}


class HistoryError(TextError):
    """A history setting that does not make sense."""


def parse_history(config: Any) -> HistoryRules:
    """Build the history rules from JSON; raise :class:`HistoryError`."""
    config = config if config is not None else {}
    if not isinstance(config, dict):
        raise HistoryError(_('the history section is an object such as {"earn": "none"}'))
    unknown = set(config) - {"earn", "counts_for_tiers"}
    if unknown:
        raise HistoryError(
            _("unknown history settings: {unknown}"), unknown=", ".join(sorted(map(str, unknown)))
        )
    raw = config.get("earn", HistoryEarn.none.value)
    try:
        earn = HistoryEarn(raw)
    except ValueError:
        raise HistoryError(_("earn must be one of none, growth, all")) from None
    counts = config.get("counts_for_tiers", False)
    if not isinstance(counts, bool):
        raise HistoryError(_("counts_for_tiers must be true or false"))
    return HistoryRules(earn=earn, counts_for_tiers=counts)


class HistorySettings(BaseModel):
    """What history imported from an old system earns (``memberkit import orders``)."""

    earn: str = Field(
        default="none",
        description="none: history earns nothing (the import's fast path). growth: each "
        "member's imported order earns the growth the rules give on its date; all: its points "
        "too, with the expiry they would have had from that date (a lot already past it is "
        "born expired). Applies to orders imported while it is set.",
        examples=["none", "growth", "all"],
    )
    counts_for_tiers: bool = Field(
        default=False,
        description="Whether history orders count in tier conditions (spend windows, order "
        "counts, invitees who bought); each imported order then re-judges its member's tier.",
    )


HISTORY: Section[HistoryRules] = Section(
    name="history",
    title=_("History import"),
    parse=parse_history,
    default=lambda: HistoryRules().config(),
    model=HistorySettings,
    render=lambda _raw, rules: rules.config(),
)
