"""Money as integer minor units (分); decimal strings with two places at the edges."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

# At most two significant decimal places (trailing zeros are fine), checked on the text itself.
_AMOUNT = re.compile(r"-?[0-9]{1,16}(\.[0-9]{0,2}0*)?")
#: Far beyond any real amount, and small enough that Decimal arithmetic on it is exact.
MAX_AMOUNT = Decimal(10) ** 15

ROUNDINGS = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceil": ROUND_CEILING}


class MoneyFormatError(ValueError):
    """The text is not an amount with at most two decimal places."""


def parse_money(value: str | int | Decimal) -> int:
    """Return minor units for ``"60.00"``, ``"60"`` or ``60``; refuse floats and sub-cent digits."""
    if isinstance(value, bool | float):
        raise MoneyFormatError('amounts are decimal strings such as "60.00"')
    if isinstance(value, str) and not _AMOUNT.fullmatch(value.strip()):
        raise MoneyFormatError(f"not an amount with at most two decimal places: {value!r}")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError) as exc:
        raise MoneyFormatError(f"not an amount: {value!r}") from exc
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise MoneyFormatError(f"not an amount: {value!r}")
    minor = amount * 100
    if minor != minor.to_integral_value():
        raise MoneyFormatError(f"more than two decimal places: {value!r}")
    return int(minor)


def format_money(minor: int) -> str:
    """Return the API form of minor units: ``6000`` -> ``"60.00"``."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def display_money(minor: int, symbol: str = "¥") -> str:
    """Return the human form: ``123456`` -> ``"¥1,234.56"``."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{symbol}{whole:,}.{cents:02d}"


def to_decimal(minor: int) -> Decimal:
    """Return minor units as a Decimal of currency units."""
    return Decimal(minor) / 100


def round_to_int(value: Decimal, rounding: str) -> int:
    """Round a Decimal to an integer by one of :data:`ROUNDINGS`."""
    return int(value.to_integral_value(rounding=ROUNDINGS[rounding]))


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` over ``weights`` proportionally, exactly, by largest remainder.

    The parts always sum to ``total``; a zero weight gets zero unless all weights are zero.
    """
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0] * len(weights)
    parts = [total * w // weight_sum for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in remainders[: total - sum(parts)]:
        parts[i] += 1
    return parts
