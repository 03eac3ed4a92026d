"""Pure stored-value rules (储值): recharge bonuses and how a payment splits principal and bonus.

A wallet holds two balances kept apart: principal (本金), the money the member paid in, and
bonus (赠送金), what the merchant added. Configured per program as
``{"bonuses": [{"at_least": "500.00", "bonus": "50.00"}, …], "max_balance": "5000.00"}``:
a recharge of at least ``at_least`` gets the ``bonus`` of the highest such step (充500送50).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from memberkit.kit.i18n import TextError, _
from memberkit.kit.money import MoneyFormatError, format_money, parse_money

MAX_STEPS = 20
DEFAULT_WALLET_RULES: dict[str, Any] = {
    "bonuses": [
        {"at_least": "500.00", "bonus": "50.00"},
        {"at_least": "1000.00", "bonus": "150.00"},
    ],
    "max_balance": "5000.00",
}


class WalletRulesError(TextError):
    """A stored-value configuration that does not make sense."""


@dataclass(frozen=True)
class WalletRules:
    """Bonus steps (minor units, ascending by ``at_least``) and the cap on a wallet's total."""

    bonuses: tuple[tuple[int, int], ...] = ()
    max_balance_minor: int = 0

    def bonus_for(self, amount_minor: int) -> int:
        """Return the bonus a recharge of ``amount_minor`` earns: the highest step it reaches."""
        bonus = 0
        for at_least, step_bonus in self.bonuses:
            if amount_minor >= at_least:
                bonus = step_bonus
        return bonus

    def largest_recharge(self, room: int) -> int:
        """Return the largest recharge ``a`` with ``a + bonus_for(a) <= room``; 0 when none fits.

        Not simply ``room``, nor monotonic in the amount: crossing a step adds its bonus at
        once, so just below a step may fit while the step does not. Each step's range of
        amounts (one bonus throughout) gives its own best candidate; the largest one wins.
        """
        starts = [(1, 0), *self.bonuses]
        best = 0
        for number, (low, bonus) in enumerate(starts):
            candidate = room - bonus
            if number + 1 < len(starts):
                candidate = min(candidate, starts[number + 1][0] - 1)
            if candidate >= low:
                best = max(best, candidate)
        return best

    def config(self) -> dict[str, Any]:
        """Return the rules in their canonical stored form (amounts as "500.00")."""
        return {
            "bonuses": [
                {"at_least": format_money(at_least), "bonus": format_money(bonus)}
                for at_least, bonus in self.bonuses
            ],
            "max_balance": format_money(self.max_balance_minor),
        }

    def room(self, principal: int, bonus: int) -> int:
        """Return how much more the wallet may hold, bonus included."""
        return max(0, self.max_balance_minor - principal - bonus)


def split_payment(amount: int, *, principal: int, bonus: int) -> tuple[int, int]:
    """Split a wallet payment into (principal, bonus) in proportion to the balances.

    The bonus part is rounded down, so the member never spends more bonus than their share;
    the parts never exceed the balances when ``amount`` does not exceed their sum.
    """
    held = principal + bonus
    if amount <= 0:
        return 0, 0
    if held <= 0:
        return amount, 0  # nothing to split: the principal debit will refuse it
    bonus_part = amount * bonus // held
    return amount - bonus_part, bonus_part


def returned_so_far(principal: int, bonus: int, share: Fraction) -> tuple[int, int]:
    """Return the (principal, bonus) a wallet payment has back once ``share`` of it is refunded.

    Cumulative: the wallet's part of the refunds is rounded once, half up, then split as the
    payment was (bonus rounded down). Both parts only grow as ``share`` grows, never pass what
    was paid, and together never round past the wallet's share of what was refunded.
    """
    paid = principal + bonus
    if paid <= 0:
        return 0, 0
    back = min(paid, int((paid * share + Fraction(1, 2)).__floor__()))
    bonus_back = back * bonus // paid
    return back - bonus_back, bonus_back


def parse_wallet_rules(config: Mapping[str, Any]) -> WalletRules:
    """Validate a stored-value configuration; raise :class:`WalletRulesError`."""
    if not isinstance(config, Mapping) or set(config) - {"bonuses", "max_balance"}:
        raise WalletRulesError(_('wallet rules are {"bonuses": [...], "max_balance": "5000.00"}'))
    cap = _amount(config.get("max_balance"), "max_balance")
    if cap <= 0:
        raise WalletRulesError(_("max_balance must be more than zero"))
    raw = config.get("bonuses", [])
    if not isinstance(raw, list) or len(raw) > MAX_STEPS:
        raise WalletRulesError(_("bonuses is a list of at most {most} steps"), most=MAX_STEPS)
    steps: list[tuple[int, int]] = []
    for number, step in enumerate(raw, start=1):
        if not isinstance(step, Mapping) or set(step) != {"at_least", "bonus"}:
            raise WalletRulesError(
                _('bonus step {number}: give "at_least" and "bonus"'), number=number
            )
        at_least = _amount(step["at_least"], f"bonus step {number}: at_least")
        bonus = _amount(step["bonus"], f"bonus step {number}: bonus")
        if at_least <= 0:
            raise WalletRulesError(
                _("bonus step {number}: at_least must be more than zero"), number=number
            )
        if bonus < 0:
            raise WalletRulesError(
                _("bonus step {number}: the bonus cannot be negative"), number=number
            )
        if at_least + bonus > cap:
            raise WalletRulesError(
                _(
                    "bonus step {number}: a recharge of {at_least} with its bonus would pass "
                    "max_balance ({cap}), so the step could never apply"
                ),
                number=number,
                at_least=format_money(at_least),
                cap=format_money(cap),
            )
        if bonus > at_least:
            raise WalletRulesError(
                _("bonus step {number}: the bonus exceeds the recharge"), number=number
            )
        if steps and (at_least <= steps[-1][0] or bonus < steps[-1][1]):
            raise WalletRulesError(
                _("bonus step {number}: steps must rise, and a larger recharge never gets less"),
                number=number,
            )
        steps.append((at_least, bonus))
    return WalletRules(bonuses=tuple(steps), max_balance_minor=cap)


def _amount(value: Any, name: str) -> int:
    try:
        if isinstance(value, str):
            return parse_money(value)
    except MoneyFormatError:
        pass
    raise WalletRulesError(_('{name} is an amount such as "500.00"'), name=name)
