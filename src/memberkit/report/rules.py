"""What every report is asked for: a period cut into buckets, a store, a tier — and who may ask.

Pure decisions over dates and codes: the buckets of a period in the program's timezone, the
stores a viewer's figures are limited to, and the ratios the reports show (as Decimal).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from memberkit.errors import Forbidden, InvalidInput
from memberkit.kit.i18n import _

#: The earliest day a report may start: imported history goes back to 1990.
EARLIEST = date(1990, 1, 1)
LATEST = date(2999, 12, 31)
#: The most buckets one report cuts its period into (a year and a month of days).
MOST_BUCKETS = 400
#: The most months of joining a cohort table holds (its rows and its columns).
MOST_COHORT_MONTHS = 36
#: The lifecycle is counted as of the last day of the period's last so many buckets (each is
#: one pass over the orders).
MOST_LIFECYCLE_BUCKETS = 24


class Grain(StrEnum):
    """How a report's period is cut: by local day, ISO week (Monday first) or calendar month."""

    day = "day"
    week = "week"
    month = "month"


class DatesReversed(InvalidInput):
    """The period ends before it starts."""

    code = "report_dates_reversed"
    message = _("The period ends before it starts.")


class DateOutOfRange(InvalidInput):
    """A day the reports cannot cover."""

    code = "report_date_out_of_range"
    message = _("Choose days between 1990-01-01 and 2999-12-31.")


class PeriodTooLong(InvalidInput):
    """More buckets than one report shows."""

    code = "report_period_too_long"
    message = _("That period has more than {most} buckets: choose a coarser grain or fewer days.")


class StoreOutOfScope(Forbidden):
    """A store-bound viewer asked for a store that is not theirs."""

    code = "report_store_out_of_scope"
    message = _("You may see the figures of your own stores only.")


@dataclass(frozen=True)
class Bucket:
    """One bucket of a period: its label and the local days it runs over, ``end`` excluded."""

    label: str
    start: date
    end: date


@dataclass(frozen=True)
class Filters:
    """A report's question: the local days ``date_from``..``date_to`` (both included)."""

    date_from: date
    date_to: date
    grain: Grain = Grain.month
    store: str | None = None
    tier: str | None = None

    def __post_init__(self) -> None:
        for day in (self.date_from, self.date_to):
            if not EARLIEST <= day <= LATEST:
                raise DateOutOfRange()
        if self.date_to < self.date_from:
            raise DatesReversed()
        if len(buckets(self.date_from, self.date_to, self.grain)) > MOST_BUCKETS:
            raise PeriodTooLong(most=MOST_BUCKETS)

    @property
    def end(self) -> date:
        """The first local day after the period."""
        return self.date_to + timedelta(days=1)


def _next_start(day: date, grain: Grain) -> date:
    if grain is Grain.day:
        return day + timedelta(days=1)
    if grain is Grain.week:
        return day + timedelta(days=7 - day.weekday())
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _label(day: date, grain: Grain) -> str:
    if grain is Grain.month:
        return f"{day.year:04d}-{day.month:02d}"
    if grain is Grain.week:
        year, week, _weekday = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return day.isoformat()


def buckets(date_from: date, date_to: date, grain: Grain) -> list[Bucket]:
    """Cut the days ``date_from``..``date_to`` into buckets; the first and last are clipped.

    Stops counting past :data:`MOST_BUCKETS` (+1), so a refusal is cheap to decide.
    """
    found: list[Bucket] = []
    start, end = date_from, date_to + timedelta(days=1)
    while start < end and len(found) <= MOST_BUCKETS:
        following = min(_next_start(start, grain), end)
        found.append(Bucket(_label(start, grain), start, following))
        start = following
    return found


def months(date_from: date, date_to: date) -> list[date]:
    """The first days of the calendar months the days ``date_from``..``date_to`` touch."""
    found: list[date] = []
    month = date(date_from.year, date_from.month, 1)
    while month <= date_to:
        found.append(month)
        month = _next_start(month, Grain.month)
    return found


def scope(viewer: Collection[str] | None, asked: str | None) -> frozenset[str] | None:
    """The stores the figures cover: ``asked``, within the viewer's own (None: every store).

    A store-bound viewer (``viewer`` their stores) who asks for no store sees all of theirs;
    one who asks for another store is refused (:class:`StoreOutOfScope`).
    """
    if viewer is None:
        return None if asked is None else frozenset({asked})
    if asked is None:
        return frozenset(viewer)
    if asked not in viewer:
        raise StoreOutOfScope()
    return frozenset({asked})


#: Ratios are shown to four places (0.1234 is 12.34%).
RATIO_PLACES = Decimal("0.0001")


def ratio(part: int, whole: int) -> Decimal | None:
    """``part / whole`` to four places, half-even; None when ``whole`` is 0 (nothing to divide)."""
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)


def average_minor(total: int, count: int) -> int:
    """An average amount in whole minor units, rounded half-even; 0 with nothing counted."""
    if count == 0:
        return 0
    return int((Decimal(total) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
