"""The wallet section: recharge bonuses (充值赠送) and the most a wallet may hold."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field

from memberkit.kit.i18n import _
from memberkit.kit.schemas import Input
from memberkit.kit.sections import Section
from memberkit.wallet.rules import DEFAULT_WALLET_RULES, WalletRules, parse_wallet_rules


class WalletRulesIn(Input):
    """Recharge bonuses (充值赠送), ascending; the most a wallet may hold; refunds of recharges.

    ``refund_days``: days after a recharge during which its unspent principal is refundable;
    ``stopped_serving``: the program has stopped serving, so every recharge's is.
    """

    bonuses: list[dict[str, Any]] = Field(
        default_factory=list, max_length=20, examples=[DEFAULT_WALLET_RULES["bonuses"]]
    )
    max_balance: str = Field(examples=["5000.00"])
    refund_days: int = Field(
        default=DEFAULT_WALLET_RULES["refund_days"], ge=0, le=3650, strict=True
    )
    stopped_serving: bool = Field(default=False, strict=True)


WALLET: Section[WalletRules] = Section(
    name="wallet",
    title=_("Stored-value rules"),
    parse=parse_wallet_rules,
    default=lambda: copy.deepcopy(DEFAULT_WALLET_RULES),
    model=WalletRulesIn,
    render=lambda _raw, rules: rules.config(),
)
