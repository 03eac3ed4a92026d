"""Pure earning and refund rules: what an order earns and what a refund takes back.

No database here: plain data in, plain data out, so the rules that cost money are tested fast
and exhaustively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from math import gcd
from typing import Any

from memberkit.growth.rules import Behaviour, SpendCap
from memberkit.kit.i18n import Text, TextError, _
from memberkit.kit.money import (
    MAX_AMOUNT,
    ROUNDINGS,
    allocate,
    display_money,
    format_money,
    round_to_int,
)
from memberkit.order.errors import (
    InvalidOrder,
    LinesMismatch,
    OrderAmountImplausible,
    OrderAmountZero,
    PaymentsMismatch,
)
from memberkit.wallet.rules import split_payment

#: Payments that earn: money that actually changed hands. Points and outside vouchers
#: (``coupon``) do not; Memberkit's coupons and the tier discount are not payments at all
#: (they lower what is due, :mod:`memberkit.coupon.rules`).
EARNING_METHODS = frozenset({"cash", "card", "wechat", "alipay", "wallet"})
#: Line weights for proportional refunds are kept in thousandths of a point.
MICRO = 1_000
#: Bounds that keep every product of amount, rate and multipliers within 64-bit integers.
MAX_MULTIPLIER = 10
#: The default plausibility cap of one order (¥50,000.00): a merchant with larger tickets
#: raises it (``max_order_amount``), up to :data:`MOST_ORDER_CAP_MINOR`.
DEFAULT_MAX_ORDER_MINOR = 5_000_000
#: The highest cap a program may set: the largest amount one line or payment may carry.
MOST_ORDER_CAP_MINOR = 10_000_000_000


class RulesError(TextError):
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

    def config(self) -> dict[str, Any]:
        """Return the rule in its canonical stored form (the one day field it sets, its name)."""
        days: dict[str, Any] = (
            {"date": self.on.isoformat()}
            if self.on is not None
            else {"weekday": self.weekday}
            if self.weekday is not None
            else {"month_day": self.month_day}
        )
        return {"name": self.name, "multiplier": format(self.multiplier, "f"), **days}


@dataclass(frozen=True)
class EarningRules:
    """A program's earning configuration (per currency unit of eligible spend)."""

    points_per_unit: Decimal = Decimal(1)
    growth_per_unit: Decimal = Decimal(1)
    rounding: str = "floor"
    min_order_minor: int = 0
    #: The largest amount one order may have (a plausibility cap: larger ones are refused).
    max_order_minor: int = DEFAULT_MAX_ORDER_MINOR
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
            "max_order_amount",
            "excluded_categories",
            "category_multipliers",
            "store_multipliers",
            "date_multipliers",
        }
        unknown = set(config) - known
        if unknown:
            raise RulesError(
                _("unknown earning settings: {unknown}"), unknown=", ".join(sorted(unknown))
            )
        rounding = config.get("rounding", "floor")
        if not isinstance(rounding, str) or rounding not in ROUNDINGS:
            raise RulesError(_("rounding must be one of {choices}"), choices=", ".join(ROUNDINGS))
        min_order = _positive(
            config.get("min_order_amount", 0), "min_order_amount", zero=True, most=1_000_000
        )
        if min_order * 100 != int(min_order * 100):
            raise RulesError(_("min_order_amount has more than two decimal places"))
        max_order = _positive(
            config.get("max_order_amount", format_money(DEFAULT_MAX_ORDER_MINOR)),
            "max_order_amount",
            most=MOST_ORDER_CAP_MINOR // 100,
        )
        if max_order * 100 != int(max_order * 100):
            raise RulesError(_("max_order_amount has more than two decimal places"))
        return cls(
            points_per_unit=_positive(
                config.get("points_per_unit", 1), "points_per_unit", zero=True, most=1000
            ),
            growth_per_unit=_positive(
                config.get("growth_per_unit", 1), "growth_per_unit", zero=True, most=1000
            ),
            rounding=rounding,
            min_order_minor=int(min_order * 100),
            max_order_minor=int(max_order * 100),
            excluded_categories=frozenset(
                _strings(config.get("excluded_categories", []), "excluded_categories")
            ),
            category_multipliers=_multipliers(config, "category_multipliers"),
            store_multipliers=_multipliers(config, "store_multipliers"),
            date_multipliers=tuple(
                _date_multiplier(raw) for raw in _list(config.get("date_multipliers", []))
            ),
        )

    def config(self) -> dict[str, Any]:
        """Return the rules in their canonical stored form: every field, numbers as text.

        Multipliers and rates are written as the exact decimals they were read as (never
        binary floats), amounts with two places.
        """
        return {
            "points_per_unit": _text(self.points_per_unit),
            "growth_per_unit": _text(self.growth_per_unit),
            "rounding": self.rounding,
            "min_order_amount": format_money(self.min_order_minor),
            "max_order_amount": format_money(self.max_order_minor),
            "excluded_categories": sorted(self.excluded_categories),
            "category_multipliers": {k: _text(v) for k, v in self.category_multipliers.items()},
            "store_multipliers": {k: _text(v) for k, v in self.store_multipliers.items()},
            "date_multipliers": [rule.config() for rule in self.date_multipliers],
        }


def _text(number: Decimal) -> str:
    """A decimal as plain text, never in exponent form (``1E+1`` is ``10``)."""
    return format(number, "f")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise RulesError(_("date_multipliers must be a list"))
    return value


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RulesError(_("{name} must be a list of names"), name=name)
    return value


def _multipliers(config: Mapping[str, Any], name: str) -> dict[str, Decimal]:
    value = config.get(name, {})
    if not isinstance(value, dict):
        raise RulesError(_("{name} must map names to multipliers"), name=name)
    return {str(key): _positive(number, f"multiplier of {key}") for key, number in value.items()}


def _whole(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RulesError(
            _("{name} must be a whole number from {low} to {high}"), name=name, low=low, high=high
        )
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 50:
        raise RulesError(_("a date multiplier's name must be text of at most 50 characters"))
    return value


def _date_multiplier(raw: Any) -> DateMultiplier:
    if not isinstance(raw, dict):
        raise RulesError(_("each date multiplier must be an object"))
    on = raw.get("date")
    try:
        day = date.fromisoformat(on) if isinstance(on, str) else None
    except ValueError as exc:
        raise RulesError(_("{on} is not a date (YYYY-MM-DD)"), on=repr(on)) from exc
    if on is not None and day is None:
        raise RulesError(_("{on} is not a date (YYYY-MM-DD)"), on=repr(on))
    rule = DateMultiplier(
        multiplier=_positive(raw.get("multiplier"), "date multiplier"),
        weekday=_whole(raw.get("weekday"), "weekday (1 = Monday … 7 = Sunday)", 1, 7),
        month_day=_whole(raw.get("month_day"), "month_day", 1, 31),
        on=day,
        name=_name(raw.get("name", "")),
    )
    if sum(x is not None for x in (rule.weekday, rule.month_day, rule.on)) != 1:
        raise RulesError(_("a date multiplier needs exactly one of weekday, month_day, date"))
    return rule


def _positive(value: Any, name: str, *, zero: bool = False, most: int = MAX_MULTIPLIER) -> Decimal:
    """Return a number from text, an integer or a float, within (0 or above 0, ``most``]."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RulesError(_("{name} must be a number"), name=name)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise RulesError(_("{name} must be a number"), name=name) from exc
    if not number.is_finite() or number < 0 or (number == 0 and not zero) or number > most:
        low = Text(_("zero or more")) if zero else Text(_("more than zero"))
        raise RulesError(_("{name} must be {low}, at most {most}"), name=name, low=low, most=most)
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
class LineIn:
    """An order line as received, money in minor units."""

    sku: str
    name: str
    category: str
    quantity: int
    unit_price_minor: int
    amount_minor: int
    discount_minor: int = 0


@dataclass(frozen=True)
class PaymentIn:
    """A payment as received; a points payment gives ``points`` (its amount is derived)."""

    method: str
    amount_minor: int | None = None
    points: int | None = None


#: What one order may add up to at most, in minor units: what any single amount may be.
MAX_ORDER_MINOR = int(MAX_AMOUNT) * 100


def price(
    lines: Sequence[LineIn],
    payments: Sequence[PaymentIn],
    *,
    points_per_unit: int,
    discount_minor: int = 0,
) -> list[Priced]:
    """Check an order's lines and payments add up; return each payment priced.

    A points payment gives points; its amount is what they are worth at ``points_per_unit``
    points to one currency unit, in whole cents. Refuses an order with no line, a line whose
    amount is not quantity × unit price − discount, or payments that do not add up to what
    is due: the lines less ``discount_minor`` (the tier discount and coupons).
    """
    check_lines(lines)
    priced = price_payments(payments, points_per_unit=points_per_unit)
    check_paid(
        priced, lines_minor=sum(line.amount_minor for line in lines), discount_minor=discount_minor
    )
    return priced


def check_lines(lines: Sequence[LineIn]) -> None:
    """Refuse an order with no line, or a line not quantity × unit price − its discount."""
    if not lines:
        raise InvalidOrder(problem=Text(_("an order needs at least one line")))
    for number, line in enumerate(lines, start=1):
        if line.quantity <= 0:
            raise InvalidOrder(
                problem=Text(_("line {number}: quantity must be at least 1"), number=number)
            )
        if min(line.unit_price_minor, line.amount_minor, line.discount_minor) < 0:
            raise InvalidOrder(
                problem=Text(_("line {number}: amounts must not be negative"), number=number)
            )
        expected = line.quantity * line.unit_price_minor - line.discount_minor
        if line.amount_minor != expected:
            raise LinesMismatch(
                line=number,
                amount=format_money(line.amount_minor),
                expected=format_money(expected),
            )
    if sum(line.amount_minor for line in lines) >= MAX_ORDER_MINOR:
        raise InvalidOrder(
            problem=Text(
                _("the lines add up to more than one order may hold ({most})"),
                most=format_money(MAX_ORDER_MINOR - 1),
            )
        )


def price_payments(payments: Sequence[PaymentIn], *, points_per_unit: int) -> list[Priced]:
    """Return each payment priced: a points payment's amount is what its points are worth."""
    priced: list[Priced] = []
    for payment in payments:
        if payment.method == "points":
            points = payment.points or 0
            if points <= 0:
                raise InvalidOrder(
                    problem=Text(_("a points payment needs a positive number of points"))
                )
            amount, rest = divmod(points * 100, points_per_unit)
            if rest:
                raise InvalidOrder(
                    problem=Text(
                        _("{points} points are not a whole number of cents"), points=points
                    )
                )
            if payment.amount_minor is not None and payment.amount_minor != amount:
                raise InvalidOrder(
                    problem=Text(
                        _("{points} points pay {amount}, not {given}"),
                        points=points,
                        amount=format_money(amount),
                        given=format_money(payment.amount_minor),
                    )
                )
            priced.append(Priced("points", amount, points))
        else:
            if payment.points:
                raise InvalidOrder(
                    problem=Text(_("a {method} payment has no points"), method=payment.method)
                )
            if payment.amount_minor is None or payment.amount_minor < 0:
                raise InvalidOrder(
                    problem=Text(
                        _("a {method} payment needs a positive amount"), method=payment.method
                    )
                )
            priced.append(Priced(payment.method, payment.amount_minor, 0))
    return priced


def check_paid(priced: Sequence[Priced], *, lines_minor: int, discount_minor: int) -> None:
    """Refuse payments that do not add up to what is due: the lines less their discounts."""
    paid = sum(payment.amount_minor for payment in priced)
    due = lines_minor - discount_minor
    if paid == due:
        return
    if discount_minor:
        raise PaymentsMismatch(
            PaymentsMismatch.discounted,
            paid=format_money(paid),
            due=format_money(due),
            total=format_money(lines_minor),
            discount=format_money(discount_minor),
        )
    raise PaymentsMismatch(paid=format_money(paid), total=format_money(lines_minor))


def most_points_payable(*, total_minor: int, balance: int, points_per_unit: int) -> int:
    """Return the most points that may pay an order of ``total_minor``: held, worth whole cents.

    No more than the member holds (``balance``), nor than the order costs, and a number of
    points worth a whole number of cents at ``points_per_unit`` points to one currency unit
    (what :func:`price` accepts).
    """
    if total_minor <= 0 or balance <= 0 or points_per_unit <= 0:
        return 0
    step = points_per_unit // gcd(points_per_unit, 100)
    most = min(balance, total_minor * points_per_unit // 100)
    return most - most % step


@dataclass(frozen=True)
class Priced:
    """A payment with its amount known: for a points payment, what its points are worth."""

    method: str
    amount_minor: int
    points: int


@dataclass(frozen=True)
class OrderFacts:
    """What deciding an order needs to know, read under the member's lock."""

    lines: Sequence[EarnLine]
    payments: Sequence[Priced]
    store_code: str | None
    #: The order's date in the program's timezone (date multipliers).
    day: date
    tier_multiplier: Decimal = Decimal(1)
    #: The member's stored value, read only when a payment takes some.
    wallet_principal: int = 0
    wallet_bonus: int = 0
    #: The spend-growth cap and what the member's orders earned in its period so far.
    spend_cap: SpendCap | None = None
    spend_growth_so_far: int = 0
    #: The growth an order earns for being an order, and what it earned in its period so far.
    order_behaviour: Behaviour | None = None
    order_growth_so_far: int = 0
    #: What the tier discount and the coupons took off: ``lines`` are what is left to pay.
    discount_minor: int = 0


@dataclass(frozen=True)
class OrderDecision:
    """What an order does to the member: what it pays with, what it earns."""

    total_minor: int
    points_paid: int
    wallet_principal: int
    wallet_bonus: int
    earning: Earning
    #: Growth for what was spent, within the spend cap.
    spend_growth: int
    #: Growth for the order being an order, within its behaviour cap.
    order_growth: int

    @property
    def wallet_paid(self) -> int:
        """Stored value the order takes, principal and bonus."""
        return self.wallet_principal + self.wallet_bonus

    @property
    def growth_earned(self) -> int:
        """All the growth the order earns."""
        return self.spend_growth + self.order_growth


def decide(rules: EarningRules, facts: OrderFacts) -> OrderDecision:
    """Decide an order: the points and stored value it takes, the points and growth it earns.

    A wallet payment takes principal and bonus in proportion to the member's wallet; the bonus
    part earns nothing (like a coupon), the principal part earns as money does. Growth for
    spending is capped by the spend cap, net of what earlier orders of the period earned.
    An order that costs nothing, or more than the program's cap, is refused
    (:func:`check_amount`, on the lines before the tier discount and coupons: an order the
    discounts make free is an order). ``total_minor`` is what was left to pay.
    """
    total_minor = sum(line.amount_minor for line in facts.lines)
    check_amount(total_minor + facts.discount_minor, most_minor=rules.max_order_minor)
    points_paid = sum(payment.points for payment in facts.payments)
    wallet_paid = sum(p.amount_minor for p in facts.payments if p.method == "wallet")
    principal, bonus = split_payment(
        wallet_paid, principal=facts.wallet_principal, bonus=facts.wallet_bonus
    )
    earning_paid = (
        sum(p.amount_minor for p in facts.payments if p.method in EARNING_METHODS) - bonus
    )
    earning = earn(
        rules,
        lines=list(facts.lines),
        earning_paid_minor=earning_paid,
        store_code=facts.store_code,
        day=facts.day,
        tier_multiplier=facts.tier_multiplier,
    )
    spend_growth = earning.growth
    if facts.spend_cap is not None and spend_growth > 0:
        spend_growth = facts.spend_cap.award(spend_growth, facts.spend_growth_so_far)
    order_growth = (
        facts.order_behaviour.award(facts.order_growth_so_far)
        if facts.order_behaviour is not None
        else 0
    )
    return OrderDecision(
        total_minor=total_minor,
        points_paid=points_paid,
        wallet_principal=principal,
        wallet_bonus=bonus,
        earning=earning,
        spend_growth=spend_growth,
        order_growth=order_growth,
    )


def check_amount(total_minor: int, *, most_minor: int) -> None:
    """Refuse an order whose lines add up to nothing, or to more than ``most_minor``.

    An order of nothing earns nothing and leaves nothing to refund, yet would count as a
    visit wherever orders are counted (tier conditions, recency and frequency); free items
    are lines of amount 0 in an order that costs something. The cap is a plausibility bound
    (``max_order_amount`` of the earning settings): a till cannot mint points by ringing up an
    order no store of the merchant would take.
    """
    if total_minor <= 0:
        raise OrderAmountZero()
    if total_minor > most_minor:
        raise OrderAmountImplausible(
            amount=display_money(total_minor), limit=display_money(most_minor)
        )


@dataclass(frozen=True)
class LineState:
    """An order line as a refund sees it: what it cost, what was refunded already."""

    quantity: int
    amount_minor: int
    refunded_quantity: int
    refunded_minor: int


class OrderStatus(StrEnum):
    """How much of an order has been refunded."""

    paid = "paid"
    partially_refunded = "partially_refunded"
    refunded = "refunded"


def order_status(
    *, total_minor: int, refunded_minor: int, units_left: int, refunds: int
) -> OrderStatus:
    """Return whether an order is paid, partially refunded or refunded.

    Refunded means nothing is left to give back: all its money, or for an order that cost
    nothing (free items), all its units.
    """
    if not refunds:
        return OrderStatus.paid
    if refunded_minor >= total_minor and (total_minor > 0 or units_left == 0):
        return OrderStatus.refunded
    return OrderStatus.partially_refunded


def refund_by_lines(lines: list[LineState], quantities: dict[int, int]) -> list[tuple[int, int]]:
    """Return (quantity, amount) refunded per line for returned quantities by line index.

    A line's last returned unit takes what is left of its amount, so a line refunded piece by
    piece returns exactly its amount. Raises RulesError for a quantity beyond what is left.
    """
    result = []
    for index, line in enumerate(lines):
        quantity = quantities.get(index, 0)
        units_left = line.quantity - line.refunded_quantity
        if quantity < 0 or quantity > units_left:
            raise RulesError(
                _("line {line}: {units} left to refund"), line=index + 1, units=units_left
            )
        amount_left = line.amount_minor - line.refunded_minor
        # Units are priced at what is left of the line (an earlier amount refund lowers it).
        amount = amount_left if quantity == units_left else amount_left * quantity // units_left
        result.append((quantity, amount))
    return result


def refund_by_amount(lines: list[LineState], amount_minor: int) -> list[tuple[int, int]]:
    """Spread a refunded amount over lines in proportion to what each has left.

    Quantities are not returned by an amount refund. Raises RulesError for more than is left.
    """
    left = [line.amount_minor - line.refunded_minor for line in lines]
    if amount_minor > sum(left):
        if not sum(left):
            raise RulesError(_("nothing is left to refund"))
        raise RulesError(
            _("{amount} asked, but only {left} is left to refund"),
            amount=display_money(amount_minor),
            left=display_money(sum(left)),
        )
    return [(0, part) for part in allocate(amount_minor, left)]


def reversal(total: int, already: int, weights: list[int], refunded_share: list[Fraction]) -> int:
    """Return what to take back now so that, cumulatively, ``total`` × refunded share is back.

    ``refunded_share`` is each line's refunded fraction after this refund. Cumulative rounding
    (half up) makes a sequence of partial refunds add up to exactly ``total`` when all is back.
    """
    if total == 0:
        return 0
    if sum(weights) == 0:
        # Every line's share rounded to nothing (tiny rates): weigh the lines equally, so
        # what was earned still comes back in full by the last refund.
        weights = [1] * len(weights)
    weight_sum = sum(weights)
    share = sum((w * s for w, s in zip(weights, refunded_share, strict=True)), Fraction(0))
    target = _round_half_up(total * share / weight_sum)
    return max(0, target - already)


def _round_half_up(value: Fraction) -> int:
    return int((value + Fraction(1, 2)).__floor__())
