"""The rule tree's validation: what a definition may say, and where a refusal points."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from memberkit.segment.compiler import specs
from memberkit.segment.tree import (
    MAX_CONDITIONS,
    MAX_WINDOWS,
    Condition,
    Group,
    InvalidDefinition,
    Op,
    parse,
)

FIELDS = specs()


def refusal(raw: Any) -> str:
    with pytest.raises(InvalidDefinition) as caught:
        parse(raw, FIELDS)
    return caught.value.detail("en")


def test_a_nested_tree_parses_into_typed_conditions() -> None:
    # Given a rule with an OR group inside an AND group
    raw = {
        "all": [
            {"field": "gender", "op": "eq", "value": "female"},
            {
                "any": [
                    {"field": "spend", "op": "gte", "value": 100000, "days": 90},
                    {"field": "registered", "op": "between", "value": ["2026-01-01", "2026-03-31"]},
                    {"field": "tag", "op": "any_of", "value": ["vip", "vip", "coffee"]},
                ]
            },
        ]
    }
    # When it is parsed
    tree = parse(raw, FIELDS)
    # Then the values are typed and repeated list values are dropped
    assert tree == Group(
        True,
        (
            Condition("gender", Op.eq, "female"),
            Group(
                False,
                (
                    Condition("spend", Op.gte, 100000, 90),
                    Condition("registered", Op.between, (date(2026, 1, 1), date(2026, 3, 31))),
                    Condition("tag", Op.any_of, ("vip", "coffee")),
                ),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"field": "gender"}, 'rule: a group is {"all": [...]} or {"any": [...]}'),
        ({"all": []}, "rule: a group needs at least one condition"),
        (
            {"all": [{"field": "colour", "op": "eq", "value": "red"}]},
            "all[0]: unknown field colour",
        ),
        (
            {
                "all": [
                    {"field": "gender", "op": "eq", "value": "x"},
                    {"any": [{"field": "spend", "op": "in", "value": [1], "days": 9}]},
                ]
            },
            "all[0]: field gender is one of male, female, unknown",
        ),
        (
            {"all": [{"any": [{"field": "spend", "op": "in", "value": [1], "days": 9}]}]},
            "all[0].any[0]: field spend allows the ops eq, ne, gt, gte, lt, lte, between; in is not one of them",
        ),
        (
            {"any": [{"field": "spend", "op": "gte", "value": 12.5, "days": 30}]},
            "any[0]: field spend compares with a whole number of minor units (分)",
        ),
        (
            {"any": [{"field": "spend", "op": "gte", "value": 100}]},
            "any[0]: field spend needs days, a whole number from 1 to 3650",
        ),
        (
            {"any": [{"field": "tier", "op": "eq", "value": "gold", "days": 3}]},
            "any[0]: field tier has no window of days",
        ),
        (
            {"any": [{"field": "registered", "op": "gte", "value": "2026-02-30"}]},
            "any[0]: field registered compares with a date YYYY-MM-DD",
        ),
        (
            {"any": [{"field": "orders", "op": "between", "value": [5, 2], "days": 30}]},
            "any[0]: between needs the low value first",
        ),
        (
            {"any": [{"field": "tag", "op": "any_of", "value": []}]},
            "any[0]: this op needs a list of 1 to 100 values",
        ),
        (
            {"any": [{"field": "tier", "op": "eq", "value": "gold", "colour": 1}]},
            "any[0]: unknown key colour",
        ),
        (
            {
                "all": [
                    {
                        "any": [
                            {
                                "all": [
                                    {
                                        "any": [
                                            {"all": [{"field": "tier", "op": "eq", "value": "g"}]}
                                        ]
                                    }
                                ]
                            }
                        ]
                    }
                ]
            },
            "all[0].any[0].all[0].any[0]: groups nest at most 4 deep",
        ),
        (
            {"all": [{"field": "tier", "op": "eq", "value": "g"}] * (MAX_CONDITIONS + 1)},
            "all[50]: a rule holds at most 50 conditions",
        ),
    ],
)
def test_a_bad_definition_is_refused_naming_where(raw: Any, said: str) -> None:
    # When a bad rule is parsed, then the refusal names the path and the fault
    assert refusal(raw) == f"The segment's rule is not valid: {said}"


def test_the_refusal_is_said_in_chinese_too() -> None:
    with pytest.raises(InvalidDefinition) as caught:
        parse({"all": [{"field": "colour", "op": "eq", "value": "red"}]}, FIELDS)
    assert caught.value.detail("zh_CN") == "分群规则无效：all[0]：未知字段 colour"


DATES = "field registered compares with a date from 1900-01-01 to 2100-12-31"


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"all": [{"field": "registered", "op": "lte", "value": "9999-12-31"}]}, "all[0]"),
        ({"all": [{"field": "registered", "op": "lt", "value": "0001-01-01"}]}, "all[0]"),
        (
            {
                "any": [
                    {"field": "tier", "op": "eq", "value": "g"},
                    {"field": "registered", "op": "between", "value": ["2026-01-01", "9999-12-31"]},
                ]
            },
            "any[1]",
        ),
        ({"all": [{"field": "registered", "op": "gt", "value": "1899-12-31"}]}, "all[0]"),
        ({"all": [{"field": "registered", "op": "gt", "value": "2101-01-01"}]}, "all[0]"),
    ],
)
def test_dates_at_the_calendars_ends_are_refused_naming_where(raw: Any, said: str) -> None:
    # When a rule compares with a date outside 1900-01-01..2100-12-31, then it is refused
    assert refusal(raw) == f"The segment's rule is not valid: {said}: {DATES}"


def test_the_dates_at_the_bounds_are_accepted() -> None:
    raw = {"all": [{"field": "registered", "op": "between", "value": ["1900-01-01", "2100-12-31"]}]}
    (condition,) = parse(raw, FIELDS).conditions()
    assert condition.value == (date(1900, 1, 1), date(2100, 12, 31))


def test_a_rule_holds_at_most_ten_conditions_over_a_window() -> None:
    # Given ten window conditions of every windowed field, and other conditions besides
    windows = [{"field": "orders", "op": "eq", "value": 0, "days": 3650 - i} for i in range(4)] + [
        {"field": "spend", "op": "gte", "value": 1, "days": 30},
        {"field": "bought_category", "op": "any_of", "value": ["tea"], "days": 30},
        {"field": "bought_store", "op": "any_of", "value": ["SH001"], "days": 30},
        {"field": "bought_channel", "op": "any_of", "value": ["store"], "days": 30},
        {"field": "points_expiring", "op": "gte", "value": 1, "days": 30},
        {"field": "orders", "op": "gte", "value": 1, "days": 7},
    ]
    others = [{"field": "tier", "op": "eq", "value": "g"}] * 20
    assert len(windows) == MAX_WINDOWS
    # Then they parse
    assert len(parse({"any": [*others, {"all": windows}]}, FIELDS).conditions()) == 30
    # And one more window condition, wherever it stands, is refused naming where
    more = {"any": [*others, {"all": windows}, {"all": [windows[0]]}]}
    assert refusal(more) == (
        "The segment's rule is not valid: any[21].all[0]: a rule holds at most 10 conditions"
        " over a window of days (spend, orders, purchases, expiring points)"
    )
    fifty = {
        "any": [{"field": "orders", "op": "eq", "value": 0, "days": 3650 - i} for i in range(50)]
    }
    assert refusal(fifty).startswith(
        "The segment's rule is not valid: any[10]: a rule holds at most 10"
    )
