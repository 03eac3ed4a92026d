"""Every settings section, in the order the API lists them; a domain adds its own here."""

from __future__ import annotations

from typing import Any

from memberkit.analytics.settings import ANALYTICS
from memberkit.benefit.settings import BENEFITS
from memberkit.growth.settings import GROWTH
from memberkit.kit.sections import Section
from memberkit.ledger.settings import VALIDITY
from memberkit.order.settings import EARNING, HISTORY
from memberkit.program.settings import CALENDAR, POLICIES
from memberkit.tier.settings import LADDER
from memberkit.wallet.settings import WALLET

SECTIONS: tuple[Section[Any], ...] = (
    EARNING,
    VALIDITY,
    LADDER,
    GROWTH,
    WALLET,
    BENEFITS,
    POLICIES,
    CALENDAR,
    ANALYTICS,
    HISTORY,
)
BY_NAME: dict[str, Section[Any]] = {section.name: section for section in SECTIONS}
