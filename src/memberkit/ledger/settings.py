"""The validity section: when earned points expire."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from memberkit.kit.i18n import _
from memberkit.kit.sections import Section
from memberkit.ledger.repository import ensure_system_accounts
from memberkit.ledger.validity import ValidityPolicy

#: The validity of a program that never set it, in its canonical (stored) form.
DEFAULT_VALIDITY: dict[str, Any] = ValidityPolicy().config()


class ValiditySettings(BaseModel):
    """When points expire: ``never``, ``rolling_days`` or ``end_of_year``.

    ``rolling_days``: ``days`` after the earning day; ``end_of_year``: 31 December of the
    earning year plus ``years`` (次年年底 with ``years`` 1).
    """

    type: str = Field(default="end_of_year", examples=["end_of_year", "rolling_days", "never"])
    days: int = Field(default=365, ge=1, le=3650)
    years: int = Field(default=1, ge=0, le=10)


VALIDITY: Section[ValidityPolicy] = Section(
    name="validity",
    title=_("Points validity"),
    parse=ValidityPolicy.from_config,
    default=lambda: dict(DEFAULT_VALIDITY),
    model=ValiditySettings,
    render=lambda _raw, policy: policy.config(),
    setup=ensure_system_accounts,
)
