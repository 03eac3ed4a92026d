"""Pure points validity policies: when a lot earned at a given time expires."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from memberkit.kit.i18n import TextError, _

POLICY_TYPES = ("never", "rolling_days", "end_of_year")


class ValidityError(TextError):
    """A validity policy is malformed."""


@dataclass(frozen=True)
class ValidityPolicy:
    """When points expire.

    ``never``; ``rolling_days`` (valid ``days`` days after the earning day); ``end_of_year``
    (valid to 31 December of the earning year plus ``years``, the usual 次年年底 rule).
    """

    type: str = "end_of_year"
    days: int = 365
    years: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ValidityPolicy:
        """Build a policy from JSON; raise :class:`ValidityError`."""
        unknown = set(config) - {"type", "days", "years"}
        if unknown:
            raise ValidityError(
                _("unknown validity settings: {unknown}"),
                unknown=", ".join(sorted(map(str, unknown))),
            )
        policy = cls(
            type=str(config.get("type", "end_of_year")),
            days=config.get("days", 365),
            years=config.get("years", 1),
        )
        if policy.type not in POLICY_TYPES:
            raise ValidityError(
                _("validity type must be one of {choices}"), choices=", ".join(POLICY_TYPES)
            )
        if (
            isinstance(policy.days, bool)
            or not isinstance(policy.days, int)
            or not 1 <= policy.days <= 3650
        ):
            raise ValidityError(_("days must be a whole number from 1 to 3650"))
        if (
            isinstance(policy.years, bool)
            or not isinstance(policy.years, int)
            or not 0 <= policy.years <= 10
        ):
            raise ValidityError(_("years must be a whole number from 0 to 10"))
        return policy

    def config(self) -> dict[str, Any]:
        """Return the policy in its canonical stored form: its type, days and years."""
        return {"type": self.type, "days": self.days, "years": self.years}

    def last_valid_day(self, earned: date) -> date | None:
        """Return the last local day on which points earned on ``earned`` can be spent."""
        if self.type == "never":
            return None
        if self.type == "rolling_days":
            return earned + timedelta(days=self.days)
        return date(earned.year + self.years, 12, 31)

    def expires_at(self, earned_at: datetime, tz: ZoneInfo) -> datetime | None:
        """Return the UTC instant a lot earned at ``earned_at`` expires, or None for never.

        That is local midnight after its last valid day.
        """
        last = self.last_valid_day(earned_at.astimezone(tz).date())
        if last is None:
            return None
        after = last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=tz).astimezone(UTC)
