"""The growth section: growth per behaviour with its caps, the spend cap and the decay."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from memberkit.growth.rules import (
    DEFAULT_GROWTH_RULES,
    Behaviour,
    Decay,
    SpendCap,
    parse_decay,
    parse_growth_rules,
    parse_spend_cap,
)
from memberkit.kit.i18n import _
from memberkit.kit.schemas import Input
from memberkit.kit.sections import Section


class GrowthRulesIn(Input):
    """Growth per behaviour: ``{"sign_in": {"growth": 1, "cap": 1, "per": "day"}, …}``.

    ``decay`` (optional): ``{"after_days": 365, "share": "0.2"}`` takes 20% of the growth of a
    member who has earned none for 365 days, as a ledger posting of kind ``decay``.
    """

    behaviours: dict[str, dict[str, Any]]
    spend_cap: dict[str, Any] | None = Field(
        default=None,
        description="At most this much growth from spending per day, week, month or year "
        "(its weight is the earning rules' growth_per_unit).",
        examples=[{"cap": 5000, "per": "month"}],
    )
    decay: dict[str, Any] | None = Field(
        default=None, examples=[{"after_days": 365, "share": "0.2"}]
    )


@dataclass(frozen=True)
class GrowthSettings:
    """The growth rules parsed: behaviours by type, the spend cap and the decay (None: unset)."""

    behaviours: dict[str, Behaviour]
    spend_cap: SpendCap | None
    decay: Decay | None


def parse(config: Any) -> GrowthSettings:
    """Validate growth rules and parse them; raise :class:`GrowthRulesError`."""
    behaviours = parse_growth_rules(config)
    return GrowthSettings(behaviours, parse_spend_cap(config), parse_decay(config))


def _render(_raw: Any, parsed: GrowthSettings) -> dict[str, Any]:
    """Store the rules as they are read: every behaviour spelled out, then the caps set.

    A behaviour is stored with its growth, cap and period; the decay's share as exact text.
    """
    rendered: dict[str, Any] = {
        "behaviours": {
            kind: {"growth": rule.growth, "cap": rule.cap, "per": rule.per}
            for kind, rule in parsed.behaviours.items()
        }
    }
    if parsed.spend_cap is not None:
        rendered["spend_cap"] = {"cap": parsed.spend_cap.cap, "per": parsed.spend_cap.per}
    if parsed.decay is not None:
        rendered["decay"] = {
            "after_days": parsed.decay.after_days,
            "share": format(parsed.decay.share, "f"),
        }
    return rendered


GROWTH: Section[GrowthSettings] = Section(
    name="growth",
    title=_("Growth rules"),
    parse=parse,
    default=lambda: copy.deepcopy(DEFAULT_GROWTH_RULES),
    model=GrowthRulesIn,
    render=_render,
)
