"""The liability report (负债): what the program owes its members at the end of a day.

Points outstanding (and their value in money at the program's rate), stored value outstanding
with principal and bonus apart, and the points expiring in the next 30, 60 and 90 days, by the
members' home store and in total. Every figure is a sum of ledger entries dated before the
moment, so a past day's report shows what was owed then (a test recomputes them).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from memberkit.kit.time import today
from memberkit.ledger import queries
from memberkit.ledger.queries import LIABILITY_HORIZONS, StoreLiability
from memberkit.program.service import ProgramConfig


@dataclass(frozen=True)
class Liability:
    """The report: its day, the moment it is taken at (the day's end), by store and total."""

    on: date
    at: datetime
    stores: list[StoreLiability]
    total: StoreLiability
    points_per_currency_unit: int

    def value_minor(self, points: int) -> int:
        """What ``points`` are worth in money at the program's rate (rounded down)."""
        return points * 100 // self.points_per_currency_unit


def report(
    session: Session,
    *,
    program: ProgramConfig,
    on: date | None = None,
    stores: Collection[str] | None = None,
    tier: str | None = None,
) -> Liability:
    """Return the liability at the end of the program's local day ``on`` (default today).

    ``stores`` narrows it to members of those stores (what a store-bound viewer sees), ``tier``
    to members now in that tier (the reports' filter).
    """
    on = on or today(program.tz)
    at = datetime.combine(on + timedelta(days=1), time(0), tzinfo=program.tz).astimezone(UTC)
    rows = queries.liability(session, program_id=program.id, at=at, stores=stores, tier=tier)
    total = StoreLiability(None)
    for row in rows:
        total.points += row.points
        total.points_debt += row.points_debt
        total.wallet_principal += row.wallet_principal
        total.wallet_bonus += row.wallet_bonus
        for days in LIABILITY_HORIZONS:
            total.expiring[days] += row.expiring[days]
    return Liability(
        on=on,
        at=at,
        stores=rows,
        total=total,
        points_per_currency_unit=program.points_per_currency_unit,
    )
