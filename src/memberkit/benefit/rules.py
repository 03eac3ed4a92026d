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
from zoneinfo import ZoneInfo


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
