"""Pure stored-value rules: recharge bonus steps, the principal/bonus split, refunds of
recharges, validation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.wallet.rules import (
    DEFAULT_WALLET_RULES,
    RechargeRefund,
    WalletRules,
    WalletRulesError,
    parse_wallet_rules,
    refund_of,
    refundable,
    split_payment,
)

RULES = parse_wallet_rules(DEFAULT_WALLET_RULES)


@pytest.mark.parametrize(
    ("amount", "bonus"),
    [(1, 0), (49_999, 0), (50_000, 5_000), (99_999, 5_000), (100_000, 15_000), (300_000, 15_000)],
)
def test_a_recharge_gets_the_bonus_of_the_highest_step_it_reaches(amount: int, bonus: int) -> None:
    assert RULES.bonus_for(amount) == bonus


def test_room_left_in_a_wallet() -> None:
    assert RULES.room(principal=400_000, bonus=50_000) == 50_000
    assert RULES.room(principal=500_000, bonus=10_000) == 0  # over the cap after a change


@pytest.mark.parametrize(
    ("amount", "principal", "bonus", "parts"),
    [
        (11_000, 50_000, 5_000, (10_000, 1_000)),  # 10 : 1, as the wallet holds
        (1, 50_000, 5_000, (1, 0)),  # the bonus part rounds down
        (55_000, 50_000, 5_000, (50_000, 5_000)),  # everything
        (3_000, 0, 5_000, (0, 3_000)),  # only bonus left
        (3_000, 0, 0, (3_000, 0)),  # an empty wallet: the principal debit refuses it
        (0, 50_000, 5_000, (0, 0)),
    ],
)
def test_a_payment_splits_in_proportion_to_the_wallet(
    amount: int, principal: int, bonus: int, parts: tuple[int, int]
) -> None:
    assert split_payment(amount, principal=principal, bonus=bonus) == parts


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.data())
def test_a_covered_payment_never_takes_more_than_either_part(
    principal: int, bonus: int, data: st.DataObject
) -> None:
    amount = data.draw(st.integers(0, principal + bonus))
    from_principal, from_bonus = split_payment(amount, principal=principal, bonus=bonus)
    assert from_principal + from_bonus == amount
    assert 0 <= from_principal <= principal and 0 <= from_bonus <= bonus
    if amount:  # never more bonus than its share
        assert from_bonus * (principal + bonus) <= amount * bonus


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"bonuses": [], "max_balance": "0.00"}, "more than zero"),
        ({"bonuses": [], "max_balance": 5000}, "an amount"),
        ({"bonuses": [], "max_balance": "5000.00", "expiry": "never"}, "wallet rules are"),
        ({"bonuses": [{"at_least": "500.00"}], "max_balance": "5000.00"}, "give"),
        (
            {"bonuses": [{"at_least": "500.00", "bonus": "600.00"}], "max_balance": "5000.00"},
            "exceeds the recharge",
        ),
        (
            {
                "bonuses": [
                    {"at_least": "1000.00", "bonus": "150.00"},
                    {"at_least": "500.00", "bonus": "50.00"},
                ],
                "max_balance": "5000.00",
            },
            "steps must rise",
        ),
        (
            {
                "bonuses": [
                    {"at_least": "500.00", "bonus": "80.00"},
                    {"at_least": "1000.00", "bonus": "50.00"},
                ],
                "max_balance": "5000.00",
            },
            "never gets less",
        ),
        ({"bonuses": [{"at_least": 500.0, "bonus": "5"}], "max_balance": "5000.00"}, "amount"),
        ({"bonuses": "lots", "max_balance": "5000.00"}, "list"),
        (
            {"bonuses": [{"at_least": "500.00", "bonus": "-1.00"}], "max_balance": "5000.00"},
            "cannot be negative",
        ),
        (
            {"bonuses": [{"at_least": "5000.00", "bonus": "1.00"}], "max_balance": "5000.00"},
            "could never apply",
        ),
    ],
)
def test_bad_wallet_rules_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(WalletRulesError, match=message):
        parse_wallet_rules(config)


def test_a_refund_returns_the_wallets_share_rounded_once() -> None:
    from fractions import Fraction

    from memberkit.wallet.rules import returned_so_far

    # 25.00 + 25.00 paid; 12.35 of 50.00 refunded: 12.35 back, not 6.18 + 6.18
    assert returned_so_far(2_500, 2_500, Fraction(1_235, 5_000)) == (618, 617)
    # 50.00 + 5.00 of a 100.00 order; 10.11 refunded: the wallet's share 5.5605 gives 5.56
    assert sum(returned_so_far(5_000, 500, Fraction(1_011, 10_000))) == 556
    assert returned_so_far(5_000, 500, Fraction(1)) == (5_000, 500)


@given(
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.lists(st.fractions(0, 1), min_size=1, max_size=6),
)
def test_refunds_return_each_part_cumulatively_never_more_than_paid(
    principal: int, bonus: int, shares: list[Any]
) -> None:
    from fractions import Fraction

    from memberkit.wallet.rules import returned_so_far

    before = (0, 0)
    for share in [*sorted(shares), Fraction(1)]:
        now = returned_so_far(principal, bonus, share)
        assert before[0] <= now[0] <= principal and before[1] <= now[1] <= bonus
        assert abs(sum(now) - (principal + bonus) * share) <= Fraction(1, 2)
        before = now
    assert before == (principal, bonus)


def test_rules_are_stored_in_one_canonical_form() -> None:
    rules = parse_wallet_rules(
        {"bonuses": [{"at_least": " 500 ", "bonus": "-0.00"}], "max_balance": "5000.0"}
    )
    assert rules.config() == {
        "bonuses": [{"at_least": "500.00", "bonus": "0.00"}],
        "max_balance": "5000.00",
        "refund_days": 7,
        "stopped_serving": False,
    }
    assert parse_wallet_rules(DEFAULT_WALLET_RULES).config() == DEFAULT_WALLET_RULES


@pytest.mark.parametrize(
    ("room", "largest"),
    [
        (85_000, 80_000),  # 850.00 of room: 850.00 would get 50.00 bonus, 800.00 fits exactly
        (54_999, 49_999),  # 500.00 + 50.00 passes it; just below the step, no bonus, fits
        (55_000, 50_000),
        (114_999, 99_999),  # 1000.00 gets 150.00: 999.99 + 50.00 is the most
        (115_000, 100_000),
        (500_000, 485_000),
        (1, 1),
        (0, 0),
    ],
)
def test_the_largest_recharge_that_fits_counts_the_bonus_it_would_get(
    room: int, largest: int
) -> None:
    assert RULES.largest_recharge(room) == largest


@st.composite
def small_rules(draw: st.DrawFn) -> WalletRules:
    """Rising steps over small amounts, so every amount can be tried."""
    starts = sorted(draw(st.sets(st.integers(1, 300), max_size=5)))
    bonuses: list[int] = []
    for at_least in starts:
        low = bonuses[-1] if bonuses else 0
        bonuses.append(draw(st.integers(low, max(low, at_least))))
    return WalletRules(
        bonuses=tuple(zip(starts, bonuses, strict=True)),
        max_balance_minor=draw(st.integers(1, 600)),
    )


@given(small_rules(), st.data())
def test_the_largest_recharge_is_exactly_the_largest_amount_accepted(
    rules: WalletRules, data: st.DataObject
) -> None:
    room = data.draw(st.integers(0, rules.max_balance_minor))
    accepted = [a for a in range(1, room + 1) if a + rules.bonus_for(a) <= room]
    assert rules.largest_recharge(room) == max(accepted, default=0)


@pytest.mark.parametrize(
    ("amount", "refunded", "held", "most"),
    [(50_000, 0, 50_000, 50_000), (50_000, 20_000, 80_000, 30_000), (50_000, 0, 12_000, 12_000)],
)
def test_a_recharge_refunds_what_it_paid_in_less_refunds_at_most_what_is_held(
    amount: int, refunded: int, held: int, most: int
) -> None:
    assert refundable(amount=amount, refunded=refunded, principal_held=held) == most


def test_a_refund_forfeits_the_bonus_in_proportion_but_never_more_than_is_left() -> None:
    assert refund_of(
        amount=50_000, bonus=5_000, refunded=0, refunding=20_000, bonus_held=5_000
    ) == (RechargeRefund(principal=20_000, bonus=2_000))
    assert refund_of(
        amount=50_000, bonus=5_000, refunded=0, refunding=50_000, bonus_held=1_200
    ) == RechargeRefund(principal=50_000, bonus=1_200)
    with pytest.raises(ValueError, match="within"):
        refund_of(amount=50_000, bonus=5_000, refunded=40_000, refunding=10_001, bonus_held=0)


@given(
    st.integers(1, 10**7),
    st.integers(0, 10**6),
    st.lists(st.integers(1, 10**7), min_size=1, max_size=6),
)
def test_refunds_of_a_recharge_in_pieces_forfeit_what_one_would(
    amount: int, bonus: int, cuts: list[int]
) -> None:
    points = sorted({cut % (amount + 1) for cut in cuts} | {0, amount})
    forfeited = sum(
        refund_of(amount=amount, bonus=bonus, refunded=a, refunding=b - a, bonus_held=bonus).bonus
        for a, b in itertools.pairwise(points)
        if b > a
    )
    assert forfeited == bonus  # refunded whole: every cent of the bonus goes, none twice


def test_the_refund_window_counts_days_from_the_recharge_unless_the_program_stopped() -> None:
    at = datetime(2026, 11, 22, 2, tzinfo=UTC)
    rules = parse_wallet_rules(DEFAULT_WALLET_RULES)
    assert rules.refund_open(at, at + timedelta(days=7) - timedelta(seconds=1))
    assert not rules.refund_open(at, at + timedelta(days=7))
    stopped = parse_wallet_rules({**DEFAULT_WALLET_RULES, "stopped_serving": True})
    assert stopped.refund_open(at, at + timedelta(days=3650))


@pytest.mark.parametrize(
    "bad",
    [{"refund_days": -1}, {"refund_days": 3651}, {"refund_days": True}, {"stopped_serving": 1}],
)
def test_a_refund_window_out_of_bounds_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(WalletRulesError):
        parse_wallet_rules({**DEFAULT_WALLET_RULES, **bad})
