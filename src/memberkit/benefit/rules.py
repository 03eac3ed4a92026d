"""Pure benefit rules (权益): kinds, quota periods on the program's clock, what is left, undo.

A benefit is defined once per program and granted to tiers, each grant with a quota per
period (gold: 2 free parking vouchers a month). Periods begin at local midnight of the
program's timezone: a day, an ISO week (from Monday), a calendar month, quarter or year, or
``once`` (one quota for as long as the member holds the tier).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from memberkit.kit.i18n import TextError, _

#: Basis points in a whole (a discount's value is the rate paid: 9500 = 95 %).
WHOLE = 10_000


class BenefitKind(StrEnum):
    """What a benefit gives; the first three the platform applies itself."""

    discount = "discount"  # a rate off every order (the tier discount)
    member_price = "member_price"  # member prices on listed items
    free_shipping = "free_shipping"
    birthday_gift = "birthday_gift"
    parking = "parking"  # free parking hours
    priority = "priority"  # priority service
    lounge = "lounge"
    upgrade = "upgrade"
    custom = "custom"  # anything else, verified (核销) by store staff


#: Benefits the platform verifies itself: they may be renamed and re-described, never deleted
#: or disabled (an order would otherwise be priced by a rule nobody can see).
SYSTEM_KINDS = frozenset(
    {BenefitKind.discount, BenefitKind.member_price, BenefitKind.free_shipping}
)


#: System benefits the checkout applies today; member prices and free shipping wait for orders
#: that carry price lists and a shipping fee, so they may not be granted yet.
APPLIED_KINDS = frozenset({BenefitKind.discount})


def is_applied(kind: BenefitKind) -> bool:
    """Tell whether the platform applies a benefit of ``kind`` (at checkout) today."""
    return kind in APPLIED_KINDS


def is_system(kind: BenefitKind) -> bool:
    """Tell whether benefits of ``kind`` are verified by the platform (not by store staff)."""
    return kind in SYSTEM_KINDS


class Period(StrEnum):
    """How often a quota starts again."""

    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"
    once = "once"


@dataclass(frozen=True)
class Window:
    """A quota period: [start, end) in UTC; ``end`` is None for a quota given once."""

    start: datetime | None
    end: datetime | None


def period_of(period: Period, at: datetime, tz: ZoneInfo) -> Window:
    """Return the period holding the moment ``at``, its bounds at local midnight in ``tz``.

    Bounds are computed on local dates and only then turned into UTC, so a month keeps its
    days across a daylight-saving change (a Berlin March is 31 local days, 743 hours).
    """
    if period is Period.once:
        return Window(None, None)
    day = at.astimezone(tz).date()
    if period is Period.day:
        first, after = day, day + timedelta(days=1)
    elif period is Period.week:
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif period is Period.month:
        first = day.replace(day=1)
        after = _months_after(first, 1)
    elif period is Period.quarter:
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        after = _months_after(first, 3)
    else:
        first, after = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    return Window(_midnight(first, tz), _midnight(after, tz))


def _months_after(first: date, months: int) -> date:
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def left(quota: int | None, used: int) -> int | None:
    """Return what is left of ``quota`` after ``used`` uses this period (None: no limit)."""
    if quota is None:
        return None
    return max(quota - used, 0)


def may_undo(used_at: datetime, now: datetime, *, window: timedelta) -> bool:
    """Tell whether a use made at ``used_at`` may still be undone at ``now``."""
    return used_at <= now < used_at + window


#: How long after a use it may be undone, by default, and at most (minutes).
DEFAULT_UNDO_MINUTES = 30
MAX_UNDO_MINUTES = 24 * 60


class BenefitRulesError(TextError):
    """A benefits configuration that does not make sense."""


@dataclass(frozen=True)
class BenefitRules:
    """The program's benefit settings: how long a use may be undone."""

    undo_minutes: int = DEFAULT_UNDO_MINUTES

    @property
    def undo_window(self) -> timedelta:
        """The undo window as a duration."""
        return timedelta(minutes=self.undo_minutes)

    def config(self) -> dict[str, Any]:
        """Return the settings as stored."""
        return {"undo_minutes": self.undo_minutes}


def parse_benefit_rules(config: Any) -> BenefitRules:
    """Validate the benefits section; raise :class:`BenefitRulesError`."""
    if not isinstance(config, dict) or set(config) - {"undo_minutes"}:
        raise BenefitRulesError(_('benefit settings are {"undo_minutes": 30}'))
    minutes = config.get("undo_minutes", DEFAULT_UNDO_MINUTES)
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not 0 <= minutes <= MAX_UNDO_MINUTES
    ):
        raise BenefitRulesError(
            _("undo_minutes is a whole number of minutes from 0 to {most}"),
            most=MAX_UNDO_MINUTES,
        )
    return BenefitRules(undo_minutes=minutes)
