"""Pure tier rules: qualification, review, ladder validation."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.tier.rules import DEFAULT_LADDER, Facts, LadderError, parse_ladder

LADDER = parse_ladder(DEFAULT_LADDER)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("facts", "level"),
    [
        (Facts(growth=0), 0),
        (Facts(growth=999), 0),
        (Facts(growth=1000), 1),
        (Facts(growth=4999), 1),
        (Facts(growth=5000), 2),
        (Facts(growth=10, day_spend=79_999), 0),
        (Facts(growth=10, day_spend=80_000), 2),  # single-day spend >= 800.00
        (Facts(growth=10, spend={30: 199_999}), 0),
        (Facts(growth=10, spend={30: 200_000}), 2),  # 30-day spend >= 2,000.00
        (Facts(growth=20_000), 3),
    ],
)
def test_qualification(facts: Facts, level: int) -> None:
    assert LADDER.qualified(facts) == level


@pytest.mark.parametrize(
    ("current", "facts", "after"),
    [
        (2, Facts(growth=3000), 2),  # meets gold's retention
        (2, Facts(growth=2999), 1),  # one down
        (3, Facts(growth=100), 2),  # one down, even far below
        (1, Facts(growth=500), 1),
        (1, Facts(growth=499), 0),
        (0, Facts(growth=0), 0),
        (2, Facts(growth=10, day_spend=80_000), 2),  # qualifying again keeps the tier too
    ],
)
def test_review_one_down(current: int, facts: Facts, after: int) -> None:
    assert LADDER.review(current, facts) == after


def test_review_to_qualified_drops_to_the_tier_the_member_may_hold() -> None:
    ladder = parse_ladder({**DEFAULT_LADDER, "review": "to_qualified"})
    assert ladder.review(3, Facts(growth=100)) == 0
    assert ladder.review(3, Facts(growth=600)) == 1  # silver's retention (500) holds
    assert ladder.review(3, Facts(growth=12_000)) == 3


facts_strategy = st.builds(
    Facts,
    growth=st.integers(0, 30_000),
    day_spend=st.integers(0, 200_000),
    spend=st.fixed_dictionaries({30: st.integers(0, 400_000)}),
)


@given(st.integers(0, 3), facts_strategy, st.sampled_from(["one_down", "to_qualified"]))
def test_review_never_raises_and_never_exceeds_what_the_rules_allow(
    current: int, facts: Facts, mode: str
) -> None:
    ladder = parse_ladder({**DEFAULT_LADDER, "review": mode})
    after = ladder.review(current, facts)
    assert 0 <= after <= current
    kept = after == current
    # a member either keeps a tier whose rules they meet, or ends at or below what they may hold
    assert kept or after <= max(ladder.eligible(facts), current - 1)
    if mode == "to_qualified" and not kept:
        assert after <= ladder.eligible(facts)
    if current and not kept:
        assert ladder.eligible(facts) < current


@given(st.integers(0, 3), facts_strategy)
def test_upgrade_never_lowers(current: int, facts: Facts) -> None:
    assert LADDER.upgrade(current, facts) == max(current, LADDER.qualified(facts))


def test_period_ends() -> None:
    upgraded = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert LADDER.period_end(upgraded, SHANGHAI) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    rolling = parse_ladder({**DEFAULT_LADDER, "period": "twelve_months"})
    assert rolling.period_end(upgraded, SHANGHAI) == datetime(2027, 2, 28, 16, 0, tzinfo=UTC)


def ladder_with(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(DEFAULT_LADDER)
    for index, tier_changes in changes.items():
        config["tiers"][int(index[1:])].update(tier_changes)
    return config


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ladder_with(t2={"qualify": {"growth_at_least": 1000}}), "thresholds must rise"),
        (ladder_with(t3={"qualify": {"growth_at_least": 900}}), "thresholds must rise"),
        (ladder_with(t2={"retain": {"growth_at_least": 400}}), "thresholds must rise"),
        (ladder_with(t1={"retain": {"growth_at_least": 3500}}), "thresholds must rise"),
        (
            ladder_with(
                t1={"retain": {"growth_at_least": 1001}, "qualify": {"growth_at_least": 1000}}
            ),
            "keeping it cannot need more",
        ),
        (ladder_with(t1={"qualify": {"likes_at_least": 5}}), "a condition is one of"),
        (ladder_with(t1={"qualify": {"any": []}}), "non-empty list"),
        (
            ladder_with(t1={"qualify": {"growth_at_least": 5, "orders_at_least": 1}}),
            "a condition is one of",
        ),
        (
            ladder_with(t1={"qualify": {"spend_at_least": "100.00", "within_days": 0}}),
            "within_days",
        ),
        (ladder_with(t1={"qualify": {"spend_at_least": 100}}), "an amount"),
        (ladder_with(t1={"qualify": None}), "needs a qualification"),
        (ladder_with(t0={"qualify": {"growth_at_least": 1}}), "first tier"),
        (ladder_with(t1={"code": "regular"}), "unique"),
        (ladder_with(t1={"multiplier": "100"}), "multiplier"),
        (ladder_with(t1={"bonus": 1}), "unknown settings"),
        (
            ladder_with(
                t1={
                    "qualify": {
                        "all": [{"all": [{"all": [{"all": [{"all": [{"growth_at_least": 1}]}]}]}]}]
                    }
                }
            ),
            "nest deeper",
        ),
        ({**DEFAULT_LADDER, "period": "weekly"}, "period"),
        ({**DEFAULT_LADDER, "tiers": []}, "1 to 10 tiers"),
        ({**DEFAULT_LADDER, "notice_days": 181}, "notice_days"),
        ({**DEFAULT_LADDER, "notice_days": True}, "notice_days"),
    ],
)
def test_bad_ladders_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(LadderError, match=message):
        parse_ladder(config)


def test_growth_behaviour_periods_and_awards() -> None:
    from memberkit.growth.rules import Behaviour

    monthly = Behaviour(growth=10, cap=25, per="month")
    at = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 01:00 on 1 December in Shanghai
    assert monthly.period(at, SHANGHAI) == (
        datetime(2026, 11, 30, 16, 0, tzinfo=UTC),
        datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
    )
    assert [monthly.award(already) for already in (0, 10, 20, 25, 30)] == [10, 10, 5, 0, 0]
    weekly = Behaviour(growth=1, cap=7, per="week")
    start, end = weekly.period(datetime(2026, 11, 25, 4, 0, tzinfo=UTC), SHANGHAI)  # a Wednesday
    assert (start, end) == (
        datetime(2026, 11, 22, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 29, 16, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("share", "balance", "taken"),
    [
        ("0.2", 900, 180),
        ("0.2", 4, 0),  # rounded down: never more than the share
        ("0.333", 1000, 333),
        ("1", 577, 577),
        ("0.5", 0, 0),
        ("0.5", -10, 0),  # growth in debt after a return has nothing to decay
    ],
)
def test_decay_takes_its_share_rounded_down(share: str, balance: int, taken: int) -> None:
    from decimal import Decimal

    from memberkit.growth.rules import Decay

    assert Decay(after_days=365, share=Decimal(share)).amount(balance) == taken


@given(st.integers(1, 10_000), st.integers(-(10**12), 10**12))
def test_decay_never_takes_more_than_the_balance(share_bp: int, balance: int) -> None:
    from decimal import Decimal

    from memberkit.growth.rules import Decay

    taken = Decay(after_days=30, share=Decimal(share_bp) / 10_000).amount(balance)
    assert 0 <= taken <= max(balance, 0)


@pytest.mark.parametrize(
    "decay",
    [
        {"after_days": 1096, "share": "0.2"},
        {"after_days": True, "share": "0.2"},
        {"after_days": 30, "share": "NaN"},
        {"after_days": 30, "share": "-0.1"},
        {"after_days": 30, "share": "abc"},
        {"after_days": 30, "share": "٠.٢"},  # Arabic-Indic digits
        {"after_days": 30, "share": "2E-1"},
        {"after_days": 30, "share": " 0.2"},
        {"after_days": 30, "share": "0.2_0"},
        {"after_days": 30, "share": "1.5"},
        [30, "0.2"],
    ],
)
def test_bad_decay_settings_are_refused(decay: Any) -> None:
    from memberkit.growth.rules import GrowthRulesError, parse_growth_rules

    with pytest.raises(GrowthRulesError, match="decay"):
        parse_growth_rules({"behaviours": {}, "decay": decay})
