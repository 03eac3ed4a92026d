"""The catalog's pure rules: terms that make sense, who may redeem when, limits, prices."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from memberkit.benefit.rules import Period
from memberkit.reward import rules
from memberkit.reward.rules import Availability, RedemptionStatus, RewardKind, Terms

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIERS = ["regular", "silver", "gold"]
NOON = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_sensible_terms_pass() -> None:
    rules.check_terms(
        Terms(
            points=500,
            cash_minor=990,
            stock=0,
            limit_count=1,
            limit_period=Period.month,
            available_from=NOON,
            available_until=datetime(2026, 12, 1, tzinfo=UTC),
            tiers=frozenset({"gold"}),
        ),
        tiers=TIERS,
    )


@pytest.mark.parametrize(
    ("terms", "problem"),
    [
        (Terms(points=0), "the points price is 1 to 100000000"),
        (Terms(points=100_000_001), "the points price is 1 to 100000000"),
        (Terms(points=1, cash_minor=-1), "the cash part is 0 to 1,000,000.00"),
        (Terms(points=1, stock=-1), "the stock is 0 or more (none: unlimited)"),
        (Terms(points=1, limit_count=0), "a limit per member is at least 1 (none: no limit)"),
        (
            Terms(points=1, available_from=NOON, available_until=NOON),
            "the window must end after it starts",
        ),
        (Terms(points=1, tiers=frozenset({"gold", "diamond"})), "there is no tier diamond"),
    ],
)
def test_terms_that_make_no_sense_are_refused_with_the_reason(terms: Terms, problem: str) -> None:
    with pytest.raises(rules.RewardRulesError) as refused:
        rules.check_terms(terms, tiers=TIERS)
    assert str(refused.value) == problem


def test_a_reward_may_be_redeemed_inside_its_window_by_its_tiers_only() -> None:
    terms = Terms(
        points=1,
        available_from=NOON,
        available_until=datetime(2026, 11, 24, 4, 0, tzinfo=UTC),
        tiers=frozenset({"gold"}),
    )
    just_before = datetime(2026, 11, 23, 3, 59, 59, tzinfo=UTC)
    last_moment = datetime(2026, 11, 24, 3, 59, 59, tzinfo=UTC)
    closed = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert rules.availability(terms, at=just_before, tier_code="gold") is Availability.not_yet
    assert rules.availability(terms, at=NOON, tier_code="gold") is Availability.ok
    assert rules.availability(terms, at=last_moment, tier_code="gold") is Availability.ok
    assert rules.availability(terms, at=closed, tier_code="gold") is Availability.ended
    assert rules.availability(terms, at=NOON, tier_code="silver") is Availability.tier
    off = Terms(points=1, active=False)
    assert rules.availability(off, at=NOON, tier_code="gold") is Availability.inactive
    assert rules.availability(Terms(points=1), at=NOON, tier_code="x") is Availability.ok


def test_the_limit_period_begins_at_local_midnight_on_the_programs_clock() -> None:
    terms = Terms(points=1, limit_count=2, limit_period=Period.day)
    # 23:30 in Shanghai on 23 November is 15:30 UTC: the day began at 16:00 UTC the day before
    late = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    window = rules.limit_window(terms, at=late, tz=SHANGHAI)
    assert (window.start, window.end) == (
        datetime(2026, 11, 22, 16, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 16, 0, tzinfo=UTC),
    )
    once = rules.limit_window(Terms(points=1, limit_count=1), at=late, tz=SHANGHAI)
    assert (once.start, once.end) == (None, None)


def test_what_is_left_of_a_limit_and_what_a_quantity_costs() -> None:
    terms = Terms(points=500, cash_minor=990, limit_count=2)
    assert [rules.limit_left(terms, redeemed=n) for n in (0, 1, 2, 3)] == [2, 1, 0, 0]
    assert rules.limit_left(Terms(points=1), redeemed=99) is None
    assert rules.price(terms, 3) == (1500, 2970)
    for wrong in (0, rules.MAX_QUANTITY + 1):
        with pytest.raises(rules.RewardRulesError):
            rules.price(terms, wrong)


def test_only_a_pending_redemption_is_picked_up_or_cancelled() -> None:
    assert [rules.may_cancel(s) for s in RedemptionStatus] == [True, False, False]
    assert [rules.may_fulfil(s) for s in RedemptionStatus] == [True, False, False]


def test_a_coupon_reward_names_its_template_and_takes_no_cash_and_others_name_none() -> None:
    def said(kind: RewardKind, template: str | None, cash: int) -> str | None:
        problem = rules.kind_problem(kind, coupon_template=template, cash_minor=cash)
        return None if problem is None else str(problem)

    assert said(RewardKind.goods, None, 990) is None
    assert said(RewardKind.service, None, 0) is None
    assert said(RewardKind.coupon, "cash10", 0) is None
    assert said(RewardKind.coupon, None, 0) == (
        "a coupon reward names its coupon template (coupon_template)"
    )
    assert said(RewardKind.coupon, "cash10", 1) == (
        "a coupon reward has no cash part: nothing is picked up at a till"
    )
    assert said(RewardKind.goods, "cash10", 0) == "only a coupon reward names a coupon template"
