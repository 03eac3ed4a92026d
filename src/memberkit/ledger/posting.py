"""Pure decisions of the points ledger: which lots a spend or a claw-back consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class OpenLot:
    """A lot that still has points: its id, what is left, and when it expires (None: never)."""

    id: int
    remaining: int
    expires_at: datetime | None


@dataclass(frozen=True)
class Take:
    """Points to take from one lot (``lot_id`` None: the part that becomes debt)."""

    lot_id: int | None
    points: int


def consume(lots: list[OpenLot], points: int, *, first: int | None = None) -> list[Take]:
    """Take ``points`` from ``lots``, earliest expiry first (never-expiring last).

    ``first`` names a lot to drain before the others (a refund claws back its own order's lot
    first). What the lots cannot cover is returned as one take with ``lot_id`` None: for a spend
    the caller has already refused that case; for a claw-back it is the member's new debt.
    """
    if points < 0:
        raise ValueError("points to consume must not be negative")
    ordered = sorted(
        (lot for lot in lots if lot.remaining > 0),
        key=lambda lot: (
            lot.id != first,
            lot.expires_at is None,
            lot.expires_at or _NEVER,
            lot.id,
        ),
    )
    takes: list[Take] = []
    left = points
    for lot in ordered:
        if left == 0:
            break
        take = min(lot.remaining, left)
        takes.append(Take(lot.id, take))
        left -= take
    if left:
        takes.append(Take(None, left))
    return takes


def settle_debt(balance_before: int, credit: int) -> tuple[int, int]:
    """Split a credit into (part that pays off debt, part that goes into a new lot)."""
    if credit < 0:
        raise ValueError("a credit must not be negative")
    debt = max(0, -balance_before)
    settled = min(debt, credit)
    return settled, credit - settled
