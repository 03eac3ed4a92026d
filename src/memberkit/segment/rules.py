"""Pure segment rules: the ready segments (现成分群) a marketer starts from.

Each is a rule tree like any other (see :mod:`memberkit.segment.tree`), copied into a new
segment when chosen, so the marketer may change its thresholds; nothing keeps it in step with
this table afterwards.

- **High value at risk** (高价值流失预警): an important RFM class (M high: 重要价值 / 保持 /
  发展 / 挽留) and a churn risk of at least 50 %.
- **Likely to buy soon** (近期可能复购): at least one expected purchase in the next 90 days and a
  churn risk under 50 %.
- **New with high expected value** (高潜新客): lifecycle *new* and an expected 12-month value of
  at least ¥500.00.

Churn risk and expected figures are the member's latest forecast; members without one (never
bought, or before the first fit) are in none of the three.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from memberkit.analytics.rfm import RfmClass
from memberkit.kit.i18n import _


@dataclass(frozen=True)
class Ready:
    """A ready segment: its key, its name and description (i18n), and its rule."""

    key: str
    name: str
    description: str
    definition: Mapping[str, Any]


IMPORTANT = [c.value for c in RfmClass if c.value.startswith("important_")]

READY: tuple[Ready, ...] = (
    Ready(
        "high_value_at_risk",
        _("High value at risk"),
        _("Important RFM class (high spend) and a churn risk of at least 50 %."),
        {
            "all": [
                {"field": "rfm_class", "op": "in", "value": IMPORTANT},
                {"field": "churn_risk", "op": "gte", "value": 50},
            ]
        },
    ),
    Ready(
        "likely_to_buy_soon",
        _("Likely to buy soon"),
        _("At least one expected purchase in the next 90 days and a churn risk under 50 %."),
        {
            "all": [
                {"field": "expected_purchases_90d", "op": "gte", "value": 1},
                {"field": "churn_risk", "op": "lt", "value": 50},
            ]
        },
    ),
    Ready(
        "new_high_value",
        _("New with high expected value"),
        _("New members whose expected value in the next 12 months is at least ¥500.00."),
        {
            "all": [
                {"field": "lifecycle", "op": "eq", "value": "new"},
                {"field": "expected_value_12m", "op": "gte", "value": 50000},
            ]
        },
    ),
)
BY_KEY: Mapping[str, Ready] = {ready.key: ready for ready in READY}
