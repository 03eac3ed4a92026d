"""Money as integer minor units: parsing, formatting, exact proportional allocation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.kit.money import (
    MoneyFormatError,
    allocate,
    display_money,
    format_money,
    parse_money,
    round_to_int,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "minor"),
    [
        ("60.00", 6000),
        ("60", 6000),
        ("60.5", 6050),
        ("0.01", 1),
        ("0", 0),
        ("1234.56", 123456),
        ("-12.34", -1234),
        (60, 6000),
        (0, 0),
        (Decimal("19.99"), 1999),
        ("60.010", 6001),
    ],
)
def test_parse_money_gives_minor_units(value: str | int | Decimal, minor: int) -> None:
    # given an amount with at most two significant decimal places
    # when it is parsed
    # then it is that many minor units
    assert parse_money(value) == minor


@pytest.mark.parametrize(
    "value",
    [
        60.0,
        0.1,
        True,
        False,
        "60.001",
        "0.005",
        Decimal("1.234"),
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        Decimal("NaN"),
        "",
        "sixty",
        "60,00",
        "1,000.00",
    ],
)
def test_parse_money_refuses_floats_sub_cents_and_non_numbers(value: Any) -> None:
    # given something that is not an amount with at most two decimal places
    # when it is parsed
    # then it is refused
    with pytest.raises(MoneyFormatError):
        parse_money(value)


def test_parse_money_refusal_of_a_float_says_how_to_send_amounts() -> None:
    with pytest.raises(MoneyFormatError) as refused:
        parse_money(60.0)

    assert str(refused.value) == 'amounts are decimal strings such as "60.00"'


def test_parse_money_refusal_of_sub_cents_names_the_value() -> None:
    with pytest.raises(MoneyFormatError) as refused:
        parse_money("60.001")

    assert str(refused.value) == "not an amount with at most two decimal places: '60.001'"


def test_parse_money_refuses_sub_cents_on_a_very_long_amount() -> None:
    # given an amount with a third decimal place and 29 significant digits
    value = "12345678901234567890123456.001"

    # when it is parsed, then it is refused like any other sub-cent amount
    with pytest.raises(MoneyFormatError):
        parse_money(value)


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (6000, "60.00"),
        (0, "0.00"),
        (1, "0.01"),
        (5, "0.05"),
        (123456, "1234.56"),
        (-5, "-0.05"),
        (-123456, "-1234.56"),
        (100_000_000, "1000000.00"),
    ],
)
def test_format_money_gives_the_api_form(minor: int, text: str) -> None:
    assert format_money(minor) == text


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (123456, "¥1,234.56"),
        (0, "¥0.00"),
        (7, "¥0.07"),
        (99999, "¥999.99"),
        (100000, "¥1,000.00"),
        (123456789, "¥1,234,567.89"),
        (-123456, "-¥1,234.56"),
        (-1, "-¥0.01"),
    ],
)
def test_display_money_gives_the_human_form(minor: int, text: str) -> None:
    assert display_money(minor) == text


def test_display_money_takes_another_symbol() -> None:
    assert display_money(-250075, "$") == "-$2,500.75"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_money_parses_back_to_the_same_minor_units(minor: int) -> None:
    assert parse_money(format_money(minor)) == minor


def test_to_decimal_gives_currency_units() -> None:
    assert to_decimal(123456) == Decimal("1234.56")
    assert to_decimal(-1) == Decimal("-0.01")


@pytest.mark.parametrize(
    ("value", "rounding", "result"),
    [
        (Decimal("2.5"), "floor", 2),
        (Decimal("2.5"), "half_up", 3),
        (Decimal("2.5"), "ceil", 3),
        (Decimal("2.4999"), "half_up", 2),
        (Decimal("2.0001"), "ceil", 3),
        (Decimal("2.9999"), "floor", 2),
        (Decimal("3"), "ceil", 3),
        (Decimal("-2.5"), "floor", -3),
        (Decimal("-2.5"), "ceil", -2),
    ],
)
def test_round_to_int(value: Decimal, rounding: str, result: int) -> None:
    assert round_to_int(value, rounding) == result


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (101, [1, 1, 1], [34, 34, 33]),
        (3000, [6000], [3000]),
        (3000, [2000, 4000], [1000, 2000]),
        (1000, [3, 0, 1], [750, 0, 250]),
        (10, [0, 0], [0, 0]),
        (0, [5, 7], [0, 0]),
        (1, [1, 1], [1, 0]),
        (5, [1, 2, 2], [1, 2, 2]),
        (7, [], []),
    ],
)
def test_allocate_splits_exactly_by_largest_remainder(
    total: int, weights: list[int], parts: list[int]
) -> None:
    assert allocate(total, weights) == parts


def test_allocate_breaks_equal_remainders_in_order() -> None:
    # given two units to share over four equal weights
    # when they are allocated
    # then the first two weights get them
    assert allocate(2, [5, 5, 5, 5]) == [1, 1, 0, 0]


weights_lists = st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=20)


@given(weights_lists, st.integers(min_value=0, max_value=10**12))
def test_allocate_parts_always_sum_to_the_total(weights: list[int], total: int) -> None:
    parts = allocate(total, weights)

    assert len(parts) == len(weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
    else:
        assert sum(parts) == total
        assert all(part >= 0 for part in parts)
        assert all(part == 0 for part, weight in zip(parts, weights, strict=True) if weight == 0)


@given(st.data(), weights_lists.filter(lambda weights: sum(weights) > 0))
def test_allocate_never_gives_a_part_above_its_weight_when_the_total_fits(
    data: st.DataObject, weights: list[int]
) -> None:
    total = data.draw(st.integers(min_value=0, max_value=sum(weights)))

    parts = allocate(total, weights)

    assert sum(parts) == total
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))


@given(weights_lists.filter(lambda weights: sum(weights) > 0), st.integers(0, 10**12))
def test_allocate_parts_are_within_one_of_the_exact_share(weights: list[int], total: int) -> None:
    parts = allocate(total, weights)

    weight_sum = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact_floor = total * weight // weight_sum
        assert exact_floor <= part <= exact_floor + 1


@pytest.mark.parametrize("text", ["1e2", "1E2", " ", "", "1,000.00", "+5", "60.0001", "１０"])
def test_only_plain_decimal_text_is_money(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        parse_money(text)


def test_trailing_zeros_are_fine() -> None:
    assert parse_money("60.000") == 6000
