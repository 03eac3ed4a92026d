"""Pure stored-value rules (储值): recharge bonuses and how a payment splits principal and bonus.

A wallet holds two balances kept apart: principal (本金), the money the member paid in, and
bonus (赠送金), what the merchant added. Configured per program as
``{"bonuses": [{"at_least": "500.00", "bonus": "50.00"}, …], "max_balance": "5000.00",
"refund_days": 7, "stopped_serving": false}``: a recharge of at least ``at_least`` gets the
``bonus`` of the highest such step (充500送50). A recharge's unspent principal may be paid back
(退款) within ``refund_days`` of it, and always once the program has ``stopped_serving``; the
bonus that came with it is forfeited in proportion. China's rules for single-purpose prepaid
cards shape the defaults: a named wallet holds at most ¥5,000 and never expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    "refund_days": 7,
    "stopped_serving": False,
}
#: The longest refund window a program may set (ten years).
MAX_REFUND_DAYS = 3650


class WalletRulesError(TextError):
    """A stored-value configuration that does not make sense."""


@dataclass(frozen=True)
class WalletRules:
    """Bonus steps (minor units, ascending by ``at_least``) and the cap on a wallet's total."""

    bonuses: tuple[tuple[int, int], ...] = ()
    max_balance_minor: int = 0
    refund_days: int = 7
    stopped_serving: bool = False

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
            "refund_days": self.refund_days,
            "stopped_serving": self.stopped_serving,
        }

    def refund_open(self, recharged_at: datetime, now: datetime) -> bool:
        """Tell whether a recharge made at ``recharged_at`` may still be refunded at ``now``."""
        return self.stopped_serving or now < recharged_at + timedelta(days=self.refund_days)

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


@dataclass(frozen=True)
class RechargeRefund:
    """What a refund of a recharge pays back (principal) and takes with it (bonus)."""

    principal: int
    bonus: int


def refundable(*, amount: int, refunded: int, principal_held: int) -> int:
    """Return the principal of a recharge of ``amount`` that may still be paid back.

    The wallet is one pool, so a recharge's unspent principal is what it paid in, less what
    was refunded of it already, and never more than the principal the wallet holds now.
    """
    return max(0, min(amount - refunded, principal_held))


def refund_of(
    *, amount: int, bonus: int, refunded: int, refunding: int, bonus_held: int
) -> RechargeRefund:
    """Return what paying back ``refunding`` of a recharge takes: its bonus, in proportion.

    The bonus forfeited is computed on the running total refunded (``bonus × refunded ÷
    amount``, rounded down, less what earlier refunds took), so refunds in pieces forfeit what
    one refund would; never more than the bonus the wallet still holds.
    """
    if not 0 < refunding <= amount - refunded:
        raise ValueError("a refund of a recharge lies within what is left of it")
    share = bonus * (refunded + refunding) // amount - bonus * refunded // amount
    return RechargeRefund(principal=refunding, bonus=min(share, bonus_held))


def parse_wallet_rules(config: Mapping[str, Any]) -> WalletRules:
    """Validate a stored-value configuration; raise :class:`WalletRulesError`."""
    keys = {"bonuses", "max_balance", "refund_days", "stopped_serving"}
    if not isinstance(config, Mapping) or set(config) - keys:
        raise WalletRulesError(_('wallet rules are {"bonuses": [...], "max_balance": "5000.00"}'))
    refund_days = config.get("refund_days", DEFAULT_WALLET_RULES["refund_days"])
    if (
        not isinstance(refund_days, int)
        or isinstance(refund_days, bool)
        or not 0 <= refund_days <= MAX_REFUND_DAYS
    ):
        raise WalletRulesError(
            _("refund_days is a whole number of days from 0 to {most}"), most=MAX_REFUND_DAYS
        )
    stopped_serving = config.get("stopped_serving", False)
    if not isinstance(stopped_serving, bool):
        raise WalletRulesError(_("stopped_serving must be true or false"))
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
    return WalletRules(
        bonuses=tuple(steps),
        max_balance_minor=cap,
        refund_days=refund_days,
        stopped_serving=stopped_serving,
    )


def _amount(value: Any, name: str) -> int:
    try:
        if isinstance(value, str):
            return parse_money(value)
    except MoneyFormatError:
        pass
    raise WalletRulesError(_('{name} is an amount such as "500.00"'), name=name)
