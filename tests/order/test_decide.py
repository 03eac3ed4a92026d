"""The decision for an order, over plain data: what it pays with and what it earns (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from memberkit.growth.rules import Behaviour, SpendCap
from memberkit.kit.money import display_money
from memberkit.order.errors import (
    InvalidOrder,
    LinesMismatch,
    OrderAmountImplausible,
    OrderAmountZero,
    PaymentsMismatch,
)
from memberkit.order.rules import (
    EarningRules,
    EarnLine,
    LineIn,
    OrderFacts,
    PaymentIn,
    Priced,
    decide,
    price,
)

RULES = EarningRules.from_config({"points_per_unit": "1", "growth_per_unit": "1"})
DAY = date(2026, 11, 23)
LATTE = LineIn("A1", "拿铁", "coffee", 2, 3000, 6000)


def facts(payments: list[Priced], **changes: object) -> OrderFacts:
    base: dict[str, object] = {
        "lines": [EarnLine(6000, "coffee")],
        "payments": payments,
        "store_code": None,
        "day": DAY,
    }
    return OrderFacts(**{**base, **changes})  # type: ignore[arg-type]


def test_a_cash_order_earns_a_point_and_a_growth_per_yuan() -> None:
    decision = decide(RULES, facts([Priced("wechat", 6000, 0)]))

    assert (decision.total_minor, decision.points_paid, decision.wallet_paid) == (6000, 0, 0)
    assert (decision.earning.points, decision.spend_growth, decision.order_growth) == (60, 60, 0)
    assert decision.growth_earned == 60


def test_the_part_paid_with_points_earns_nothing() -> None:
    decision = decide(RULES, facts([Priced("points", 1000, 1000), Priced("cash", 5000, 0)]))

    assert decision.points_paid == 1000
    assert decision.earning.points == 50
    assert decision.earning.eligible_minor == 5000


def test_a_wallet_payment_splits_like_the_wallet_and_its_bonus_part_earns_nothing() -> None:
    # The wallet holds 300.00 principal and 100.00 bonus: a 60.00 payment takes 45 + 15.
    decision = decide(
        RULES,
        facts([Priced("wallet", 6000, 0)], wallet_principal=30000, wallet_bonus=10000),
    )

    assert (decision.wallet_principal, decision.wallet_bonus) == (4500, 1500)
    assert decision.earning.points == 45
    assert decision.spend_growth == 45


def test_spend_growth_stops_at_the_cap_net_of_what_the_period_earned_so_far() -> None:
    capped = facts(
        [Priced("cash", 6000, 0)], spend_cap=SpendCap(cap=100, per="month"), spend_growth_so_far=70
    )

    decision = decide(RULES, capped)

    assert (decision.earning.points, decision.earning.growth, decision.spend_growth) == (60, 60, 30)


def test_an_order_earns_its_own_growth_within_the_behaviour_cap() -> None:
    behaviour = Behaviour(growth=10, cap=25, per="month")

    first = decide(RULES, facts([Priced("cash", 6000, 0)], order_behaviour=behaviour))
    third = decide(
        RULES,
        facts([Priced("cash", 6000, 0)], order_behaviour=behaviour, order_growth_so_far=20),
    )

    assert (first.order_growth, first.growth_earned) == (10, 70)
    assert (third.order_growth, third.growth_earned) == (5, 65)


def test_the_tier_multiplier_multiplies_points_not_growth() -> None:
    decision = decide(RULES, facts([Priced("cash", 6000, 0)], tier_multiplier=Decimal("1.5")))

    assert (decision.earning.points, decision.spend_growth) == (90, 60)


def test_pricing_values_points_at_the_program_rate_in_whole_cents() -> None:
    priced = price(
        [LATTE], [PaymentIn("points", points=1000), PaymentIn("cash", 5000)], points_per_unit=100
    )

    assert priced == [Priced("points", 1000, 1000), Priced("cash", 5000, 0)]


@pytest.mark.parametrize(
    ("lines", "payments", "error", "code"),
    [
        ([], [], InvalidOrder, "invalid_order"),
        ([LineIn("A1", "拿铁", "coffee", 2, 3000, 5000)], [], LinesMismatch, "lines_mismatch"),
        ([LATTE], [PaymentIn("cash", 5000)], PaymentsMismatch, "payments_mismatch"),
        ([LATTE], [PaymentIn("points", points=0)], InvalidOrder, "invalid_order"),
        ([LATTE], [PaymentIn("cash", 6000, points=5)], InvalidOrder, "invalid_order"),
    ],
)
def test_pricing_refuses_orders_that_do_not_add_up(
    lines: list[LineIn], payments: list[PaymentIn], error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as refused:
        price(lines, payments, points_per_unit=100)
    assert refused.value.code == code  # type: ignore[attr-defined]


@given(
    principal=st.integers(0, 10**7),
    bonus=st.integers(0, 10**7),
    cash=st.integers(0, 10**6),
    wallet=st.integers(0, 10**6),
    points=st.integers(0, 10**4),
)
def test_every_decision_spends_what_was_paid_and_earns_only_on_money(
    principal: int, bonus: int, cash: int, wallet: int, points: int
) -> None:
    wallet = min(wallet, principal + bonus)
    total = cash + wallet + points
    assume(total > 0)  # an order of nothing is refused (below)
    payments = [
        Priced("cash", cash, 0),
        Priced("wallet", wallet, 0),
        Priced("points", points, points),
    ]

    decision = decide(
        RULES,
        facts(
            payments,
            lines=[EarnLine(total, "coffee")],
            wallet_principal=principal,
            wallet_bonus=bonus,
        ),
    )

    assert decision.total_minor == total
    assert decision.wallet_paid == wallet
    assert 0 <= decision.wallet_bonus <= bonus and 0 <= decision.wallet_principal <= principal
    assert decision.points_paid == points
    assert decision.earning.eligible_minor == cash + decision.wallet_principal
    assert decision.earning.points == (cash + decision.wallet_principal) // 100


def test_an_order_of_nothing_is_refused_though_a_free_line_beside_a_paid_one_is_not() -> None:
    # given an order whose every line is free, and one with a free gift beside a paid line
    free = facts([], lines=[EarnLine(0, "gift"), EarnLine(0, "coffee")])
    with_gift = facts(
        [Priced("cash", 6000, 0)], lines=[EarnLine(6000, "coffee"), EarnLine(0, "gift")]
    )

    # when each is decided, then the first is refused and the second earns on what was paid
    with pytest.raises(OrderAmountZero) as refused:
        decide(RULES, free)
    assert (refused.value.code, refused.value.status) == ("order_amount_zero", 422)
    assert decide(RULES, with_gift).earning.points == 60


@pytest.mark.parametrize(
    ("total", "cap", "refused"),
    [
        (5_000_000, 5_000_000, False),  # exactly the default cap of ¥50,000.00
        (5_000_001, 5_000_000, True),
        (5_000_001, 10_000_000, False),  # a merchant with larger tickets raised it
        (101, 100, True),
    ],
)
def test_an_order_above_the_programs_cap_is_refused_naming_the_cap_as_money(
    total: int, cap: int, refused: bool
) -> None:
    rules = EarningRules(max_order_minor=cap)
    order = facts([Priced("cash", total, 0)], lines=[EarnLine(total, "coffee")])
    if not refused:
        assert decide(rules, order).total_minor == total
        return
    with pytest.raises(OrderAmountImplausible) as error:
        decide(rules, order)
    assert (error.value.code, error.value.status) == ("order_amount_implausible", 422)
    assert error.value.detail("en") == (
        f"The order's amount {display_money(total)} is more than one order may have "
        f"({display_money(cap)}); a merchant whose sales are larger raises the limit in the "
        "earning settings."
    )


def test_the_default_cap_is_fifty_thousand_yuan() -> None:
    assert EarningRules().max_order_minor == 5_000_000
    assert EarningRules.from_config({}).max_order_minor == 5_000_000
    assert EarningRules.from_config({"max_order_amount": "80000.50"}).max_order_minor == 8_000_050
