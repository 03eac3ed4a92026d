"""Pure earning and refund rules: what an order earns and what a refund takes back.

No database here: plain data in, plain data out, so the rules that cost money are tested fast
and exhaustively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from memberkit.kit.money import ROUNDINGS, allocate, round_to_int

#: Payments that earn: money that actually changed hands. Points and coupons do not.
EARNING_METHODS = frozenset({"cash", "card", "wechat", "alipay", "wallet"})
MICRO = 1_000_000


class RulesError(ValueError):
    """A program's earning configuration is invalid."""


@dataclass(frozen=True)
class DateMultiplier:
    """Multiply points on matching days: a weekday (1=Mon … 7=Sun), a day of month, or a date."""

    multiplier: Decimal
    weekday: int | None = None
    month_day: int | None = None
    on: date | None = None
    name: str = ""

    def matches(self, day: date) -> bool:
        """Tell whether ``day`` (in the program's timezone) is one of this rule's days."""
        if self.on is not None:
            return day == self.on
        if self.weekday is not None:
            return day.isoweekday() == self.weekday
        if self.month_day is not None:
            return day.day == self.month_day
        return False


@dataclass(frozen=True)
class EarningRules:
    """A program's earning configuration (per currency unit of eligible spend)."""

    points_per_unit: Decimal = Decimal(1)
    growth_per_unit: Decimal = Decimal(1)
    rounding: str = "floor"
    min_order_minor: int = 0
    excluded_categories: frozenset[str] = frozenset()
    category_multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    store_multipliers: Mapping[str, Decimal] = field(default_factory=dict)
    date_multipliers: tuple[DateMultiplier, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EarningRules:
        """Build rules from a program's JSON configuration; raise :class:`RulesError`."""
        known = {
            "points_per_unit",
            "growth_per_unit",
            "rounding",
            "min_order_amount",
            "excluded_categories",
            "category_multipliers",
            "store_multipliers",
            "date_multipliers",
        }
        unknown = set(config) - known
        if unknown:
            raise RulesError(f"unknown earning settings: {', '.join(sorted(unknown))}")
        rounding = str(config.get("rounding", "floor"))
        if rounding not in ROUNDINGS:
            raise RulesError(f"rounding must be one of {', '.join(ROUNDINGS)}")
        dates = []
        for raw in config.get("date_multipliers", []):
            on = raw.get("date")
            rule = DateMultiplier(
                multiplier=_positive(raw.get("multiplier"), "date multiplier"),
                weekday=raw.get("weekday"),
                month_day=raw.get("month_day"),
                on=date.fromisoformat(on) if on else None,
                name=str(raw.get("name", "")),
            )
            if sum(x is not None for x in (rule.weekday, rule.month_day, rule.on)) != 1:
                raise RulesError("a date multiplier needs exactly one of weekday, month_day, date")
            if rule.weekday is not None and not 1 <= rule.weekday <= 7:
                raise RulesError("weekday runs from 1 (Monday) to 7 (Sunday)")
            if rule.month_day is not None and not 1 <= rule.month_day <= 31:
                raise RulesError("month_day runs from 1 to 31")
            dates.append(rule)
        min_order = _positive(config.get("min_order_amount", 0), "min_order_amount", zero=True)
        if min_order * 100 != int(min_order * 100):
            raise RulesError("min_order_amount has more than two decimal places")
        return cls(
            points_per_unit=_positive(
                config.get("points_per_unit", 1), "points_per_unit", zero=True
            ),
            growth_per_unit=_positive(
                config.get("growth_per_unit", 1), "growth_per_unit", zero=True
            ),
            rounding=rounding,
            min_order_minor=int(min_order * 100),
            excluded_categories=frozenset(config.get("excluded_categories", [])),
            category_multipliers={
                k: _positive(v, f"multiplier of {k}")
                for k, v in config.get("category_multipliers", {}).items()
            },
            store_multipliers={
                k: _positive(v, f"multiplier of {k}")
                for k, v in config.get("store_multipliers", {}).items()
            },
            date_multipliers=tuple(dates),
        )


def _positive(value: Any, name: str, *, zero: bool = False) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise RulesError(f"{name} must be a number") from exc
    if not number.is_finite() or number < 0 or (number == 0 and not zero):
        raise RulesError(f"{name} must be {'zero or more' if zero else 'more than zero'}")
    return number


@dataclass(frozen=True)
class EarnLine:
    """What the rules need of an order line."""

    amount_minor: int
    category: str


@dataclass(frozen=True)
class Earning:
    """What an order earns, with each line's share kept for proportional refunds."""

    points: int
    growth: int
    eligible_minor: int
    line_points_weight: list[int]
    line_growth_weight: list[int]


def earn(
    rules: EarningRules,
    *,
    lines: list[EarnLine],
    earning_paid_minor: int,
    store_code: str | None,
    day: date,
    tier_multiplier: Decimal = Decimal(1),
) -> Earning:
    """Compute the points and growth an order earns.

    The cash-like payments are spread over the lines in proportion to their amounts, so the
    part paid with points or coupons earns nothing wherever it falls. Excluded categories earn
    nothing; category, store, date (the best matching one) and tier multipliers multiply points.
    Raw per-line points are summed and rounded once. An order whose eligible amount is below the
    program's minimum earns no points (growth still counts).
    """
    paid = allocate(earning_paid_minor, [line.amount_minor for line in lines])
    eligible = [
        0 if line.category in rules.excluded_categories else part
        for line, part in zip(lines, paid, strict=True)
    ]
    eligible_minor = sum(eligible)
    day_multiplier = max(
        (rule.multiplier for rule in rules.date_multipliers if rule.matches(day)),
        default=Decimal(1),
    )
    store_multiplier = rules.store_multipliers.get(store_code or "", Decimal(1))
    raw_points = [
        Decimal(part)
        / 100
        * rules.points_per_unit
        * rules.category_multipliers.get(line.category, Decimal(1))
        * store_multiplier
        * day_multiplier
        * tier_multiplier
        for line, part in zip(lines, eligible, strict=True)
    ]
    raw_growth = [Decimal(part) / 100 * rules.growth_per_unit for part in eligible]
    points = round_to_int(sum(raw_points, Decimal(0)), rules.rounding)
    if eligible_minor < rules.min_order_minor:
        points = 0
        raw_points = [Decimal(0)] * len(lines)
    return Earning(
        points=points,
        growth=round_to_int(sum(raw_growth, Decimal(0)), rules.rounding),
        eligible_minor=eligible_minor,
        line_points_weight=[_micro(x) for x in raw_points],
        line_growth_weight=[_micro(x) for x in raw_growth],
    )


def _micro(value: Decimal) -> int:
    return int((value * MICRO).to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class LineState:
    """An order line as a refund sees it: what it cost, what was refunded already."""

    quantity: int
    amount_minor: int
    refunded_quantity: int
    refunded_minor: int


def refund_by_lines(lines: list[LineState], quantities: dict[int, int]) -> list[tuple[int, int]]:
    """Return (quantity, amount) refunded per line for returned quantities by line index.

    A line's last returned unit takes what is left of its amount, so a line refunded piece by
    piece returns exactly its amount. Raises ValueError for a quantity beyond what is left.
    """
    result = []
    for index, line in enumerate(lines):
        quantity = quantities.get(index, 0)
        left = line.quantity - line.refunded_quantity
        if quantity < 0 or quantity > left:
            raise ValueError(f"line {index + 1}: {left} left to refund")
        if quantity == left:
            amount = line.amount_minor - line.refunded_minor
        else:
            amount = line.amount_minor * quantity // line.quantity
        result.append((quantity, amount))
    return result


def refund_by_amount(lines: list[LineState], amount_minor: int) -> list[tuple[int, int]]:
    """Spread a refunded amount over lines in proportion to what each has left.

    Quantities are not returned by an amount refund. Raises ValueError for more than is left.
    """
    left = [line.amount_minor - line.refunded_minor for line in lines]
    if amount_minor > sum(left):
        raise ValueError("more than the order has left to refund")
    return [(0, part) for part in allocate(amount_minor, left)]


def reversal(total: int, already: int, weights: list[int], refunded_share: list[Fraction]) -> int:
    """Return what to take back now so that, cumulatively, ``total`` × refunded share is back.

    ``refunded_share`` is each line's refunded fraction after this refund. Cumulative rounding
    (half up) makes a sequence of partial refunds add up to exactly ``total`` when all is back.
    """
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        return 0
    share = sum((w * s for w, s in zip(weights, refunded_share, strict=True)), Fraction(0))
    target = _round_half_up(total * share / weight_sum)
    return max(0, target - already)


def _round_half_up(value: Fraction) -> int:
    return int((value + Fraction(1, 2)).__floor__())
