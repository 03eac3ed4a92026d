"""Pure stored-value rules: recharge bonus steps, the principal/bonus split, validation."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.wallet.rules import (
    DEFAULT_WALLET_RULES,
    WalletRulesError,
    parse_wallet_rules,
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
    ],
)
def test_bad_wallet_rules_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(WalletRulesError, match=message):
        parse_wallet_rules(config)
