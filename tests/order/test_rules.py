"""Pure earning and refund rules: what an order earns and what a refund takes back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memberkit.order.rules import (
    DateMultiplier,
    Earning,
    EarningRules,
    EarnLine,
    LineIn,
    LineState,
    OrderStatus,
    PaymentIn,
    RulesError,
    earn,
    most_points_payable,
    order_status,
    price,
    refund_by_amount,
    refund_by_lines,
    reversal,
)

SUNDAY = date(2026, 11, 22)
WEDNESDAY = date(2026, 11, 25)
THURSDAY = date(2026, 11, 26)


def earn_one(
    rules: EarningRules,
    amount_minor: int,
    *,
    category: str = "food",
    paid_minor: int | None = None,
    store_code: str | None = None,
    day: date = SUNDAY,
    tier_multiplier: Decimal = Decimal(1),
) -> Earning:
    return earn(
        rules,
        lines=[EarnLine(amount_minor, category)],
        earning_paid_minor=amount_minor if paid_minor is None else paid_minor,
        store_code=store_code,
        day=day,
        tier_multiplier=tier_multiplier,
    )


# --- from_config -------------------------------------------------------------------------------


def test_from_config_of_nothing_is_one_point_per_unit_rounded_down() -> None:
    assert EarningRules.from_config({}) == EarningRules(
        points_per_unit=Decimal(1),
        growth_per_unit=Decimal(1),
        rounding="floor",
        min_order_minor=0,
        excluded_categories=frozenset(),
        category_multipliers={},
        store_multipliers={},
        date_multipliers=(),
    )


def test_from_config_reads_every_setting() -> None:
    # given a program's full earning configuration, numbers as JSON gives them
    config = {
        "points_per_unit": 2,
        "growth_per_unit": "0.5",
        "rounding": "half_up",
        "min_order_amount": "58.50",
        "excluded_categories": ["tobacco", "gift_card"],
        "category_multipliers": {"fresh": 1.5},
        "store_multipliers": {"SH001": "2"},
        "date_multipliers": [
            {"weekday": 3, "multiplier": 2, "name": "会员日"},
            {"month_day": 18, "multiplier": "1.8"},
            {"date": "2026-11-11", "multiplier": 3, "name": "双十一"},
        ],
    }

    # when rules are built from it
    rules = EarningRules.from_config(config)

    # then every value is exact (floats go through their text, not their binary value)
    assert rules == EarningRules(
        points_per_unit=Decimal(2),
        growth_per_unit=Decimal("0.5"),
        rounding="half_up",
        min_order_minor=5850,
        excluded_categories=frozenset({"tobacco", "gift_card"}),
        category_multipliers={"fresh": Decimal("1.5")},
        store_multipliers={"SH001": Decimal(2)},
        date_multipliers=(
            DateMultiplier(multiplier=Decimal(2), weekday=3, name="会员日"),
            DateMultiplier(multiplier=Decimal("1.8"), month_day=18),
            DateMultiplier(multiplier=Decimal(3), on=date(2026, 11, 11), name="双十一"),
        ),
    )


def test_from_config_turns_floats_into_their_decimal_text() -> None:
    rules = EarningRules.from_config({"points_per_unit": 0.1, "min_order_amount": 10.05})

    assert rules.points_per_unit == Decimal("0.1")
    assert rules.min_order_minor == 1005


def test_from_config_accepts_zero_points_and_growth_per_unit() -> None:
    rules = EarningRules.from_config({"points_per_unit": 0, "growth_per_unit": "0"})

    assert (rules.points_per_unit, rules.growth_per_unit) == (Decimal(0), Decimal(0))
    assert earn_one(rules, 6000) == Earning(0, 0, 6000, [0], [0])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"points_per_dollar": 1}, "unknown earning settings: points_per_dollar"),
        ({"b": 1, "a": 2}, "unknown earning settings: a, b"),
        ({"rounding": "round"}, "rounding must be one of floor, half_up, ceil"),
        ({"rounding": None}, "rounding must be one of floor, half_up, ceil"),
        ({"points_per_unit": -1}, "points_per_unit must be zero or more, at most 1000"),
        ({"points_per_unit": "abc"}, "points_per_unit must be a number"),
        ({"points_per_unit": None}, "points_per_unit must be a number"),
        ({"points_per_unit": "NaN"}, "points_per_unit must be zero or more, at most 1000"),
        ({"points_per_unit": "Infinity"}, "points_per_unit must be zero or more, at most 1000"),
        ({"points_per_unit": float("inf")}, "points_per_unit must be zero or more, at most 1000"),
        ({"growth_per_unit": "-0.5"}, "growth_per_unit must be zero or more, at most 1000"),
        ({"min_order_amount": -10}, "min_order_amount must be zero or more, at most 1000000"),
        ({"min_order_amount": "ten"}, "min_order_amount must be a number"),
        (
            {"category_multipliers": {"fresh": 0}},
            "multiplier of fresh must be more than zero, at most 10",
        ),
        (
            {"category_multipliers": {"fresh": -2}},
            "multiplier of fresh must be more than zero, at most 10",
        ),
        ({"store_multipliers": {"SH001": "x"}}, "multiplier of SH001 must be a number"),
        (
            {"store_multipliers": {"SH001": 0}},
            "multiplier of SH001 must be more than zero, at most 10",
        ),
        (
            {"date_multipliers": [{"weekday": 3}]},
            "date multiplier must be a number",
        ),
        (
            {"date_multipliers": [{"weekday": 3, "multiplier": 0}]},
            "date multiplier must be more than zero, at most 10",
        ),
        (
            {"date_multipliers": [{"multiplier": 2}]},
            "a date multiplier needs exactly one of weekday, month_day, date",
        ),
        (
            {"date_multipliers": [{"weekday": 3, "month_day": 1, "multiplier": 2}]},
            "a date multiplier needs exactly one of weekday, month_day, date",
        ),
        (
            {"date_multipliers": [{"weekday": 3, "date": "2026-11-11", "multiplier": 2}]},
            "a date multiplier needs exactly one of weekday, month_day, date",
        ),
        (
            {"date_multipliers": [{"weekday": 0, "multiplier": 2}]},
            "weekday (1 = Monday … 7 = Sunday) must be a whole number from 1 to 7",
        ),
        (
            {"date_multipliers": [{"weekday": 8, "multiplier": 2}]},
            "weekday (1 = Monday … 7 = Sunday) must be a whole number from 1 to 7",
        ),
        (
            {"date_multipliers": [{"month_day": 0, "multiplier": 2}]},
            "month_day must be a whole number from 1 to 31",
        ),
        (
            {"date_multipliers": [{"month_day": 32, "multiplier": 2}]},
            "month_day must be a whole number from 1 to 31",
        ),
    ],
)
def test_from_config_refuses_bad_settings(config: dict[str, Any], message: str) -> None:
    with pytest.raises(RulesError) as refused:
        EarningRules.from_config(config)

    assert str(refused.value) == message


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"date_multipliers": [{"weekday": "3", "multiplier": 2}]}, id="weekday-text"),
        pytest.param(
            {"date_multipliers": [{"date": "2026-02-30", "multiplier": 2}]}, id="impossible-date"
        ),
        pytest.param(
            {"date_multipliers": [{"date": "next friday", "multiplier": 2}]}, id="date-text"
        ),
        pytest.param({"date_multipliers": ["wednesday"]}, id="entry-not-an-object"),
        pytest.param({"category_multipliers": ["fresh"]}, id="multipliers-not-an-object"),
    ],
)
def test_from_config_refuses_malformed_entries_with_rules_error(config: dict[str, Any]) -> None:
    with pytest.raises(RulesError):
        EarningRules.from_config(config)


def test_date_multiplier_matches_its_day() -> None:
    assert DateMultiplier(Decimal(2), weekday=3).matches(WEDNESDAY) is True
    assert DateMultiplier(Decimal(2), weekday=3).matches(THURSDAY) is False
    assert DateMultiplier(Decimal(2), weekday=7).matches(SUNDAY) is True
    assert DateMultiplier(Decimal(2), month_day=25).matches(WEDNESDAY) is True
    assert DateMultiplier(Decimal(2), month_day=25).matches(date(2026, 12, 25)) is True
    assert DateMultiplier(Decimal(2), on=WEDNESDAY).matches(WEDNESDAY) is True
    assert DateMultiplier(Decimal(2), on=WEDNESDAY).matches(date(2027, 11, 25)) is False
    assert DateMultiplier(Decimal(2)).matches(WEDNESDAY) is False


# --- earn --------------------------------------------------------------------------------------


def test_earn_one_point_per_unit_of_cash() -> None:
    # given the default rules and a 60.00 order paid in cash
    # when it earns
    earning = earn_one(EarningRules(), 6000)

    # then it earns 60 points and 60 growth, each line weighted in millionths
    assert earning == Earning(
        points=60,
        growth=60,
        eligible_minor=6000,
        line_points_weight=[60_000],
        line_growth_weight=[60_000],
    )


def test_earn_at_a_base_rate() -> None:
    rules = EarningRules.from_config({"points_per_unit": "2.5", "growth_per_unit": "0.1"})

    earning = earn_one(rules, 6000)

    assert (earning.points, earning.growth) == (150, 6)
    assert earning.line_points_weight == [150_000]
    assert earning.line_growth_weight == [6_000]


@pytest.mark.parametrize(
    ("amount_minor", "rounding", "points"),
    [
        (1950, "floor", 19),
        (1950, "half_up", 20),
        (1950, "ceil", 20),
        (1949, "floor", 19),
        (1949, "half_up", 19),
        (1949, "ceil", 20),
        (1901, "ceil", 20),
        (1900, "floor", 19),
        (1900, "half_up", 19),
        (1900, "ceil", 19),
        (99, "floor", 0),
        (1, "ceil", 1),
    ],
)
def test_earn_rounds_by_the_program_rounding(amount_minor: int, rounding: str, points: int) -> None:
    rules = EarningRules(rounding=rounding)

    earning = earn_one(rules, amount_minor)

    assert earning.points == points
    assert earning.growth == points
    assert earning.line_points_weight == [amount_minor * 10]


def test_earn_rounds_the_sum_of_lines_once() -> None:
    # given two lines of 1.50 each, rounded down
    lines = [EarnLine(150, "food"), EarnLine(150, "drinks")]

    # when the order earns
    earning = earn(EarningRules(), lines=lines, earning_paid_minor=300, store_code=None, day=SUNDAY)

    # then 1.5 + 1.5 = 3 points, not 1 + 1
    assert (earning.points, earning.growth) == (3, 3)
    assert earning.line_points_weight == [1_500, 1_500]


def test_earn_nothing_on_excluded_categories() -> None:
    # given tobacco excluded from earning
    rules = EarningRules.from_config({"excluded_categories": ["tobacco"]})
    lines = [EarnLine(4000, "food"), EarnLine(2000, "tobacco")]

    # when a 60.00 order with 20.00 of tobacco earns
    earning = earn(rules, lines=lines, earning_paid_minor=6000, store_code=None, day=SUNDAY)

    # then only the food earns, points and growth alike
    assert earning == Earning(
        points=40,
        growth=40,
        eligible_minor=4000,
        line_points_weight=[40_000, 0],
        line_growth_weight=[40_000, 0],
    )


def test_earn_only_on_an_all_excluded_order_is_nothing() -> None:
    rules = EarningRules.from_config({"excluded_categories": ["tobacco"]})

    assert earn_one(rules, 6000, category="tobacco") == Earning(0, 0, 0, [0], [0])


def test_the_part_paid_with_points_or_coupons_earns_nothing() -> None:
    # given a 60.00 order of which only 30.00 was paid in cash or card
    lines = [EarnLine(4000, "food"), EarnLine(2000, "drinks")]

    # when it earns
    earning = earn(
        EarningRules(), lines=lines, earning_paid_minor=3000, store_code=None, day=SUNDAY
    )

    # then the cash is spread over the lines in proportion and only it earns
    assert earning == Earning(
        points=30,
        growth=30,
        eligible_minor=3000,
        line_points_weight=[20_000, 10_000],
        line_growth_weight=[20_000, 10_000],
    )


def test_the_non_earning_part_falls_on_excluded_lines_only_in_proportion() -> None:
    # given 30.00 of cash on an order of 40.00 food and 20.00 tobacco (excluded)
    rules = EarningRules.from_config({"excluded_categories": ["tobacco"]})
    lines = [EarnLine(4000, "food"), EarnLine(2000, "tobacco")]

    # when it earns
    earning = earn(rules, lines=lines, earning_paid_minor=3000, store_code=None, day=SUNDAY)

    # then the food's share of the cash (20.00) earns, not all of the cash
    assert (earning.points, earning.eligible_minor) == (20, 2000)


def test_an_order_paid_only_with_points_earns_nothing() -> None:
    assert earn_one(EarningRules(), 6000, paid_minor=0) == Earning(0, 0, 0, [0], [0])


def test_earn_with_a_category_multiplier() -> None:
    rules = EarningRules.from_config({"category_multipliers": {"fresh": 2}})
    lines = [EarnLine(4000, "fresh"), EarnLine(2000, "drinks")]

    earning = earn(rules, lines=lines, earning_paid_minor=6000, store_code=None, day=SUNDAY)

    # then 80 + 20 points, and growth ignores multipliers
    assert (earning.points, earning.growth) == (100, 60)
    assert earning.line_points_weight == [80_000, 20_000]
    assert earning.line_growth_weight == [40_000, 20_000]


@pytest.mark.parametrize(
    ("store_code", "points"),
    [("SH001", 90), ("BJ001", 60), (None, 60), ("", 60)],
)
def test_earn_with_a_store_multiplier(store_code: str | None, points: int) -> None:
    rules = EarningRules.from_config({"store_multipliers": {"SH001": "1.5"}})

    earning = earn_one(rules, 6000, store_code=store_code)

    assert (earning.points, earning.growth) == (points, 60)


@pytest.mark.parametrize(
    ("day", "points"),
    [(WEDNESDAY, 120), (THURSDAY, 60), (SUNDAY, 60), (date(2026, 12, 2), 120)],
)
def test_earn_double_on_wednesdays(day: date, points: int) -> None:
    # given weekday 3 (Wednesday) as a double-points day
    rules = EarningRules.from_config({"date_multipliers": [{"weekday": 3, "multiplier": 2}]})

    # when a 60.00 order earns on the given day
    earning = earn_one(rules, 6000, day=day)

    # then Wednesdays earn double points, growth stays
    assert (earning.points, earning.growth) == (points, 60)


def test_earn_with_month_day_and_date_multipliers() -> None:
    rules = EarningRules.from_config(
        {
            "date_multipliers": [
                {"month_day": 18, "multiplier": "1.8"},
                {"date": "2026-11-11", "multiplier": 3},
            ]
        }
    )

    assert earn_one(rules, 6000, day=date(2026, 12, 18)).points == 108
    assert earn_one(rules, 6000, day=date(2026, 11, 11)).points == 180
    assert earn_one(rules, 6000, day=date(2027, 11, 11)).points == 60


def test_the_best_matching_date_multiplier_wins_instead_of_a_product() -> None:
    # given Wednesdays ×2, the 25th ×3 and 25 November 2026 ×1.5
    rules = EarningRules.from_config(
        {
            "date_multipliers": [
                {"weekday": 3, "multiplier": 2},
                {"month_day": 25, "multiplier": 3},
                {"date": "2026-11-25", "multiplier": "1.5"},
            ]
        }
    )

    # when a 60.00 order earns on Wednesday 25 November 2026, when all three match
    earning = earn_one(rules, 6000, day=WEDNESDAY)

    # then the best one applies alone: 180 points, not 60 × 2 × 3 × 1.5 = 540
    assert earning.points == 180
    assert earning.line_points_weight == [180_000]


def test_a_lone_matching_date_multiplier_below_one_applies() -> None:
    rules = EarningRules.from_config({"date_multipliers": [{"weekday": 7, "multiplier": "0.5"}]})

    assert earn_one(rules, 6000, day=SUNDAY).points == 30


def test_earn_with_a_tier_multiplier() -> None:
    earning = earn_one(EarningRules(), 6000, tier_multiplier=Decimal("1.5"))

    assert (earning.points, earning.growth) == (90, 60)


def test_every_kind_of_multiplier_multiplies_together() -> None:
    # given fresh ×2, store SH001 ×1.5, Wednesday ×2
    rules = EarningRules.from_config(
        {
            "category_multipliers": {"fresh": 2},
            "store_multipliers": {"SH001": "1.5"},
            "date_multipliers": [{"weekday": 3, "multiplier": 2}],
        }
    )

    # when a gold member (×1.2) buys 60.00 of fresh food at SH001 on a Wednesday
    earning = earn_one(
        rules,
        6000,
        category="fresh",
        store_code="SH001",
        day=WEDNESDAY,
        tier_multiplier=Decimal("1.2"),
    )

    # then 60 × 2 × 1.5 × 2 × 1.2 points
    assert (earning.points, earning.growth) == (432, 60)


def test_an_order_below_the_minimum_earns_no_points_but_growth() -> None:
    # given a minimum order of 100.00
    rules = EarningRules.from_config({"min_order_amount": 100})

    # when a 60.00 order earns
    earning = earn_one(rules, 6000)

    # then no points and no points weight, but its growth
    assert earning == Earning(
        points=0,
        growth=60,
        eligible_minor=6000,
        line_points_weight=[0],
        line_growth_weight=[60_000],
    )


def test_an_order_at_the_minimum_earns() -> None:
    rules = EarningRules.from_config({"min_order_amount": "100.00"})

    assert earn_one(rules, 10000).points == 100
    assert earn_one(rules, 9999).points == 0


def test_the_minimum_applies_to_the_eligible_amount() -> None:
    # given a minimum of 100.00 and tobacco excluded
    rules = EarningRules.from_config({"min_order_amount": 100, "excluded_categories": ["tobacco"]})

    # when a 120.00 order has 40.00 of tobacco, or is paid 30.00 with points
    with_tobacco = earn(
        rules,
        lines=[EarnLine(8000, "food"), EarnLine(4000, "tobacco")],
        earning_paid_minor=12000,
        store_code=None,
        day=SUNDAY,
    )
    with_points = earn_one(rules, 12000, paid_minor=9000)

    # then neither reaches the minimum
    assert (with_tobacco.points, with_tobacco.growth, with_tobacco.eligible_minor) == (0, 80, 8000)
    assert (with_points.points, with_points.growth, with_points.eligible_minor) == (0, 90, 9000)


def test_earn_on_an_order_without_lines() -> None:
    earning = earn(EarningRules(), lines=[], earning_paid_minor=0, store_code=None, day=SUNDAY)

    assert earning == Earning(0, 0, 0, [], [])


# --- refunds -----------------------------------------------------------------------------------


def test_refund_by_lines_gives_the_last_unit_what_is_left() -> None:
    # given a line of 3 units for 10.00
    line = LineState(quantity=3, amount_minor=1000, refunded_quantity=0, refunded_minor=0)

    # when its units are returned one at a time
    first = refund_by_lines([line], {0: 1})
    line = replace(line, refunded_quantity=1, refunded_minor=333)
    second = refund_by_lines([line], {0: 1})
    line = replace(line, refunded_quantity=2, refunded_minor=666)
    third = refund_by_lines([line], {0: 1})

    # then the pieces add up to exactly the line's amount
    assert (first, second, third) == ([(1, 333)], [(1, 333)], [(1, 334)])


def test_refund_by_lines_of_several_lines_at_once() -> None:
    lines = [
        LineState(quantity=3, amount_minor=1000, refunded_quantity=0, refunded_minor=0),
        LineState(quantity=2, amount_minor=5000, refunded_quantity=0, refunded_minor=0),
        LineState(quantity=1, amount_minor=999, refunded_quantity=0, refunded_minor=0),
    ]

    assert refund_by_lines(lines, {0: 2, 1: 2}) == [(2, 666), (2, 5000), (0, 0)]


def test_refund_by_lines_refuses_more_than_is_left() -> None:
    lines = [LineState(quantity=3, amount_minor=1000, refunded_quantity=1, refunded_minor=333)]

    with pytest.raises(ValueError) as refused:
        refund_by_lines(lines, {0: 3})

    assert str(refused.value) == "line 1: 2 left to refund"
    assert lines == [LineState(3, 1000, 1, 333)]


def test_refund_by_lines_refuses_a_negative_quantity() -> None:
    lines = [
        LineState(quantity=1, amount_minor=500, refunded_quantity=0, refunded_minor=0),
        LineState(quantity=3, amount_minor=1000, refunded_quantity=0, refunded_minor=0),
    ]

    with pytest.raises(ValueError) as refused:
        refund_by_lines(lines, {1: -1})

    assert str(refused.value) == "line 2: 3 left to refund"


def test_refund_by_lines_after_an_amount_refund_never_exceeds_what_is_left() -> None:
    # given a line of 2 units for 10.00 of which 9.00 was refunded by amount
    line = LineState(quantity=2, amount_minor=1000, refunded_quantity=0, refunded_minor=0)
    [(_, by_amount)] = refund_by_amount([line], 900)
    line = replace(line, refunded_minor=by_amount)

    # when one unit is returned
    [(quantity, amount)] = refund_by_lines([line], {0: 1})

    # then at most the 1.00 left is refunded
    assert (quantity, by_amount) == (1, 900)
    assert 0 <= amount <= 100


def test_refund_by_amount_spreads_over_what_each_line_has_left() -> None:
    lines = [
        LineState(quantity=1, amount_minor=4000, refunded_quantity=0, refunded_minor=0),
        LineState(quantity=2, amount_minor=2000, refunded_quantity=1, refunded_minor=1000),
        LineState(quantity=1, amount_minor=500, refunded_quantity=1, refunded_minor=500),
    ]

    # 40.00 and 10.00 are left: 25.00 goes 20.00 / 5.00
    assert refund_by_amount(lines, 2500) == [(0, 2000), (0, 500), (0, 0)]


def test_refund_by_amount_splits_odd_cents_by_largest_remainder() -> None:
    lines = [LineState(1, 100, 0, 0), LineState(1, 100, 0, 0), LineState(1, 100, 0, 0)]

    assert refund_by_amount(lines, 100) == [(0, 34), (0, 33), (0, 33)]


def test_refund_by_amount_refuses_more_than_is_left() -> None:
    lines = [LineState(1, 4000, 0, 3000), LineState(1, 2000, 0, 0)]

    with pytest.raises(ValueError) as refused:
        refund_by_amount(lines, 3001)

    assert str(refused.value) == "¥30.01 asked, but only ¥30.00 is left to refund"
    assert refund_by_amount(lines, 3000) == [(0, 1000), (0, 2000)]
    with pytest.raises(ValueError) as nothing_left:
        refund_by_amount([LineState(1, 4000, 0, 4000)], 1)
    assert str(nothing_left.value) == "nothing is left to refund"


@pytest.mark.parametrize(
    ("total", "already", "weights", "shares", "taken"),
    [
        (60, 0, [1], [Fraction(1, 2)], 30),
        (60, 30, [1], [Fraction(1)], 30),
        (60, 0, [1], [Fraction(1)], 60),
        (5, 0, [1], [Fraction(1, 2)], 3),
        (5, 3, [1], [Fraction(1)], 2),
        (5, 0, [1], [Fraction(1, 3)], 2),
        (100, 0, [3, 1], [Fraction(1), Fraction(0)], 75),
        (100, 75, [3, 1], [Fraction(1), Fraction(1, 2)], 13),
        (100, 0, [0, 5], [Fraction(1), Fraction(0)], 0),
        (0, 0, [1], [Fraction(1)], 0),
        (60, 0, [0, 0], [Fraction(1), Fraction(1)], 60),  # no weights: lines weigh equally
        (60, 0, [0, 0], [Fraction(1), Fraction(0)], 30),
        (60, 40, [1], [Fraction(1, 2)], 0),
    ],
)
def test_reversal_takes_back_the_cumulative_share(
    total: int, already: int, weights: list[int], shares: list[Fraction], taken: int
) -> None:
    assert reversal(total, already, weights, shares) == taken


# --- properties --------------------------------------------------------------------------------


@dataclass
class PlacedOrder:
    """What post_order stores and post_refund updates, simulated without a database."""

    points: int
    growth: int
    points_weight: list[int]
    growth_weight: list[int]
    lines: list[LineState]
    points_reversed: int = 0
    growth_reversed: int = 0

    def refund(self, parts: list[tuple[int, int]]) -> tuple[int, int]:
        """Apply one refund's (quantity, amount) per line; return what it takes back."""
        self.lines = [
            replace(
                line,
                refunded_quantity=line.refunded_quantity + quantity,
                refunded_minor=line.refunded_minor + amount,
            )
            for line, (quantity, amount) in zip(self.lines, parts, strict=True)
        ]
        shares = [
            Fraction(line.refunded_minor, line.amount_minor)
            if line.amount_minor
            else Fraction(line.refunded_quantity, line.quantity)
            for line in self.lines
        ]
        points = reversal(self.points, self.points_reversed, self.points_weight, shares)
        growth = reversal(self.growth, self.growth_reversed, self.growth_weight, shares)
        self.points_reversed += points
        self.growth_reversed += growth
        return points, growth


categories = st.sampled_from(["food", "fresh", "drinks", "tobacco"])
multipliers = st.decimals(min_value="0.1", max_value="5", places=1)


@st.composite
def placed_orders(draw: st.DrawFn) -> PlacedOrder:
    line_data = draw(
        st.lists(
            st.tuples(st.integers(1, 5), st.integers(0, 50_000), categories),
            min_size=1,
            max_size=6,
        )
    )
    rules = EarningRules(
        points_per_unit=draw(st.decimals(min_value="0", max_value="10", places=2)),
        growth_per_unit=draw(st.decimals(min_value="0", max_value="3", places=2)),
        rounding=draw(st.sampled_from(["floor", "half_up", "ceil"])),
        min_order_minor=draw(st.sampled_from([0, 0, 5000])),
        excluded_categories=frozenset({"tobacco"}),
        category_multipliers={"fresh": draw(multipliers)},
        store_multipliers={"SH001": draw(multipliers)},
        date_multipliers=(DateMultiplier(draw(multipliers), weekday=3),),
    )
    total = sum(amount for _quantity, amount, _category in line_data)
    earning = earn(
        rules,
        lines=[EarnLine(amount, category) for _quantity, amount, category in line_data],
        earning_paid_minor=draw(st.integers(0, total)),
        store_code=draw(st.sampled_from([None, "SH001"])),
        day=draw(st.sampled_from([SUNDAY, WEDNESDAY])),
        tier_multiplier=draw(st.sampled_from([Decimal(1), Decimal("1.5")])),
    )
    return PlacedOrder(
        points=earning.points,
        growth=earning.growth,
        points_weight=earning.line_points_weight,
        growth_weight=earning.line_growth_weight,
        lines=[LineState(quantity, amount, 0, 0) for quantity, amount, _category in line_data],
    )


@settings(deadline=None)
@given(placed_orders(), st.data())
def test_amount_refunds_in_any_pieces_take_back_exactly_what_was_earned(
    order: PlacedOrder, data: st.DataObject
) -> None:
    total = sum(line.amount_minor for line in order.lines)
    cuts = data.draw(st.lists(st.integers(0, total), max_size=8))
    pieces = [b - a for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), total], strict=True)]

    for piece in pieces:
        points, growth = order.refund(refund_by_amount(order.lines, piece))

        # no step takes back a negative amount or, in total, more than was earned
        assert points >= 0 and growth >= 0
        assert order.points_reversed <= order.points
        assert order.growth_reversed <= order.growth
        assert all(line.refunded_minor <= line.amount_minor for line in order.lines)

    assert [line.refunded_minor for line in order.lines] == [
        line.amount_minor for line in order.lines
    ]
    assert (order.points_reversed, order.growth_reversed) == (order.points, order.growth)


@settings(deadline=None)
@given(placed_orders(), st.data())
def test_line_refunds_in_any_pieces_take_back_exactly_what_was_earned(
    order: PlacedOrder, data: st.DataObject
) -> None:
    while open_lines := [
        index for index, line in enumerate(order.lines) if line.refunded_quantity < line.quantity
    ]:
        # each refund returns at least one unit of some line, and any units of the others
        chosen = data.draw(st.sampled_from(open_lines))
        quantities = {
            index: data.draw(
                st.integers(
                    1 if index == chosen else 0,
                    order.lines[index].quantity - order.lines[index].refunded_quantity,
                )
            )
            for index in open_lines
        }

        points, growth = order.refund(refund_by_lines(order.lines, quantities))

        assert points >= 0 and growth >= 0
        assert order.points_reversed <= order.points
        assert order.growth_reversed <= order.growth
        assert all(0 <= line.refunded_minor <= line.amount_minor for line in order.lines)

    assert [line.refunded_minor for line in order.lines] == [
        line.amount_minor for line in order.lines
    ]
    assert (order.points_reversed, order.growth_reversed) == (order.points, order.growth)


@given(placed_orders())
def test_one_full_refund_takes_back_exactly_what_was_earned(order: PlacedOrder) -> None:
    everything = {index: line.quantity for index, line in enumerate(order.lines)}

    taken = order.refund(refund_by_lines(order.lines, everything))

    assert taken == (order.points, order.growth)


@given(
    st.lists(st.tuples(st.integers(0, 100_000), categories), min_size=1, max_size=8),
    st.data(),
)
def test_earn_never_makes_a_line_eligible_for_more_than_it_cost(
    line_data: list[tuple[int, str]], data: st.DataObject
) -> None:
    # the cash share of each line comes from allocate, which never exceeds a weight
    lines = [EarnLine(amount, category) for amount, category in line_data]
    total = sum(line.amount_minor for line in lines)
    paid = data.draw(st.integers(0, total))
    rules = EarningRules(excluded_categories=frozenset({"tobacco"}))

    earning = earn(rules, lines=lines, earning_paid_minor=paid, store_code=None, day=SUNDAY)

    # one point per unit, so a line's weight in thousandths is its eligible cents × 10
    eligible = [weight // 10 for weight in earning.line_points_weight]
    assert sum(eligible) == earning.eligible_minor <= paid
    assert all(0 <= part <= line.amount_minor for part, line in zip(eligible, lines, strict=True))
    if total and not any(line.category == "tobacco" for line in lines):
        assert earning.eligible_minor == paid
    assert earning.points == earning.eligible_minor // 100


def test_an_amount_refund_then_line_refunds_take_back_exactly_what_was_earned() -> None:
    # given an order of 2 units for 10.00 that earned 10 points
    order = PlacedOrder(
        points=10,
        growth=10,
        points_weight=[10_000],
        growth_weight=[10_000],
        lines=[LineState(quantity=2, amount_minor=1000, refunded_quantity=0, refunded_minor=0)],
    )

    # when 9.00 is refunded by amount, then each unit is returned
    taken = [
        order.refund(refund_by_amount(order.lines, 900)),
        order.refund(refund_by_lines(order.lines, {0: 1})),
        order.refund(refund_by_lines(order.lines, {0: 1})),
    ]

    # then 10.00 and 10 points come back in all, never more at any step
    assert order.lines == [LineState(2, 1000, 2, 1000)]
    assert sum(points for points, _growth in taken) == 10
    assert order.points_reversed == 10


@pytest.mark.parametrize(
    "config",
    [
        {"excluded_categories": "food"},
        {"points_per_unit": True},
        {"date_multipliers": [{"weekday": True, "multiplier": "2"}]},
        {"date_multipliers": [{"weekday": 3.5, "multiplier": "2"}]},
        {"date_multipliers": {"weekday": 3}},
        {"category_multipliers": {"beauty": False}},
    ],
)
def test_loosely_typed_settings_are_refused(config: dict[str, Any]) -> None:
    with pytest.raises(RulesError):
        EarningRules.from_config(config)


@pytest.mark.parametrize(
    ("total", "refunded", "units_left", "refunds", "status"),
    [
        (6000, 0, 2, 0, OrderStatus.paid),
        (6000, 1000, 2, 1, OrderStatus.partially_refunded),  # by amount: units stay
        (6000, 6000, 2, 2, OrderStatus.refunded),  # all the money back, units or not
        (0, 0, 1, 1, OrderStatus.partially_refunded),  # free items: one of two returned
        (0, 0, 0, 2, OrderStatus.refunded),
        (0, 0, 2, 0, OrderStatus.paid),
    ],
)
def test_an_order_is_refunded_when_nothing_is_left_to_give_back(
    total: int, refunded: int, units_left: int, refunds: int, status: OrderStatus
) -> None:
    assert (
        order_status(
            total_minor=total, refunded_minor=refunded, units_left=units_left, refunds=refunds
        )
        == status
    )


@pytest.mark.parametrize(
    ("total_minor", "balance", "points_per_unit", "most"),
    [
        (10000, 500, 100, 500),  # ¥100.00 at 100 points a yuan: all 500 held
        (300, 500, 100, 300),  # ¥3.00: no more than the order costs
        (10000, 0, 100, 0),
        (0, 500, 100, 0),
        (10000, 778, 30, 777),  # 30 points a yuan: 3 points are 10 cents, so steps of 3
        (10000, 999, 1, 100),  # 1 point a yuan: no more than the ¥100.00 it costs
    ],
)
def test_most_points_payable_is_held_within_the_total_and_worth_whole_cents(
    total_minor: int, balance: int, points_per_unit: int, most: int
) -> None:
    assert (
        most_points_payable(
            total_minor=total_minor, balance=balance, points_per_unit=points_per_unit
        )
        == most
    )
    if most:
        price(
            [LineIn("A", "", "", 1, total_minor, total_minor)],
            [
                PaymentIn("points", points=most),
                PaymentIn("cash", total_minor - most * 100 // points_per_unit),
            ],
            points_per_unit=points_per_unit,
        )
