"""Pure decisions of the points ledger: which lots a spend or a claw-back consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

_NEVER = datetime.max.replace(tzinfo=UTC)
K = TypeVar("K")


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


def consume(lots: list[OpenLot], points: int, *, first: frozenset[int] = frozenset()) -> list[Take]:
    """Take ``points`` from ``lots``, earliest expiry first (never-expiring last).

    ``first`` names lots to drain before the others (a refund claws back its own order's lot,
    and the lots its points were returned to, first). What the lots cannot cover is returned
    as one take with ``lot_id`` None: for a spend the caller has already refused that case; for
    a claw-back it is the member's new debt.
    """
    if points < 0:
        raise ValueError("points to consume must not be negative")
    ordered = sorted(
        (lot for lot in lots if lot.remaining > 0),
        key=lambda lot: (
            lot.id not in first,
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


def claw_back(share: int, *, lot_remaining: int, lot_expired: int) -> tuple[int, int]:
    """Split a refund's share of an order's earned points into (to take, already expired).

    The share comes from the order's own lot first (``lot_remaining`` still in it). Beyond
    that, up to ``lot_expired`` points (expired from the lot and not yet counted by an earlier
    refund) were already lost to the member and are not taken a second time; only the rest —
    what the member spent — is taken from other lots or becomes a debt.
    """
    if min(share, lot_remaining, lot_expired) < 0:
        raise ValueError("points must not be negative")
    from_lot = min(share, lot_remaining)
    already_expired = min(share - from_lot, lot_expired)
    return share - already_expired, already_expired


def give_back(spent: list[tuple[K, int]], *, returned: int, points: int) -> list[tuple[K, int]]:
    """Return which sources ``points`` returned points go back to, given ``returned`` earlier.

    ``spent`` lists what a payment took, in the order it took it. Returns undo the spend from
    its end (the lot spent last comes back first), so what stays spent is what a smaller
    payment would have taken; refunding in pieces gives back what refunding at once would.
    """
    if returned < 0 or points < 0 or returned + points > sum(p for _key, p in spent):
        raise ValueError("cannot return more than was spent")
    back: list[tuple[K, int]] = []
    skip, left = returned, points
    for key, took in reversed(spent):
        if left == 0:
            break
        passed = min(skip, took)
        skip -= passed
        part = min(took - passed, left)
        if part:
            back.append((key, part))
            left -= part
    return back
