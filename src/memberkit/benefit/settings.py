"""The benefits section: how long a verified use may be undone; opens the system benefits."""

from __future__ import annotations

from pydantic import Field

from memberkit.benefit.repository import ensure_system_benefits
from memberkit.benefit.rules import (
    DEFAULT_UNDO_MINUTES,
    MAX_UNDO_MINUTES,
    BenefitRules,
    parse_benefit_rules,
)
from memberkit.kit.i18n import _
from memberkit.kit.schemas import Input
from memberkit.kit.sections import Section


class BenefitRulesIn(Input):
    """How long after a verification (核销) a store may undo it, in minutes."""

    undo_minutes: int = Field(default=DEFAULT_UNDO_MINUTES, ge=0, le=MAX_UNDO_MINUTES)


BENEFITS: Section[BenefitRules] = Section(
    name="benefits",
    title=_("Benefits"),
    parse=parse_benefit_rules,
    default=lambda: {"undo_minutes": DEFAULT_UNDO_MINUTES},
    model=BenefitRulesIn,
    render=lambda _raw, rules: rules.config(),
    setup=ensure_system_benefits,
)
