"""Pure catalog rules (积分商城): what a reward costs, who may redeem it when, and how often.

A reward is priced in points, with an optional cash part (积分+现金) taken at the till when it
is picked up. It may be limited to some tiers, to a time window (限时兑换), and to a number of
redemptions per member per period on the program's clock (the benefits' periods, from local
midnight). Whether stock is left is decided where it is written (a conditional UPDATE), not
here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from memberkit.benefit.rules import Period, Window, period_of
from memberkit.kit.i18n import Text, TextError, _

#: The most units one redemption takes.
MAX_QUANTITY = 20
#: The largest points price and cash part of one unit (¥1,000,000.00).
MAX_POINTS = 100_000_000
MAX_CASH_MINOR = 100_000_000


class RewardKind(StrEnum):
    """What a reward gives the member."""

    goods = "goods"  # a thing picked up at a store
    service = "service"  # a service given at a store (a car wash, an alteration)
    coupon = "coupon"  # coupons issued from a template at once (nothing to pick up)


#: Kinds a reward may be defined with (every kind, now that coupons are issued).
AVAILABLE_KINDS = frozenset(RewardKind)


class RedemptionStatus(StrEnum):
    """Where a redemption stands: waiting for pickup, picked up, or cancelled."""

    pending = "pending"
    fulfilled = "fulfilled"
    cancelled = "cancelled"


#: What each status is called on screens and in refusals.
STATUS_NAMES: dict[RedemptionStatus, str] = {
    RedemptionStatus.pending: _("waiting for pickup"),
    RedemptionStatus.fulfilled: _("picked up"),
    RedemptionStatus.cancelled: _("cancelled"),
}


class Availability(StrEnum):
    """Why a reward may not be redeemed now (``ok``: it may)."""

    ok = "ok"
    inactive = "inactive"
    not_yet = "not_yet"
    ended = "ended"
    tier = "tier"


class RewardRulesError(TextError):
    """A reward's terms that do not make sense."""


@dataclass(frozen=True)
class Terms:
    """A reward's terms as the rules see them."""

    points: int
    cash_minor: int = 0
    stock: int | None = None
    limit_count: int | None = None
    limit_period: Period = Period.once
    available_from: datetime | None = None
    available_until: datetime | None = None
    tiers: frozenset[str] = field(default_factory=frozenset)
    active: bool = True


def check_terms(terms: Terms, *, tiers: Sequence[str]) -> None:
    """Refuse terms that do not make sense (``tiers``: the ladder's codes); raise the reason."""
    if not 1 <= terms.points <= MAX_POINTS:
        raise RewardRulesError(_("the points price is 1 to {most}"), most=MAX_POINTS)
    if not 0 <= terms.cash_minor <= MAX_CASH_MINOR:
        raise RewardRulesError(_("the cash part is 0 to 1,000,000.00"))
    if terms.stock is not None and terms.stock < 0:
        raise RewardRulesError(_("the stock is 0 or more (none: unlimited)"))
    if terms.limit_count is not None and terms.limit_count < 1:
        raise RewardRulesError(_("a limit per member is at least 1 (none: no limit)"))
    if (
        terms.available_from is not None
        and terms.available_until is not None
        and terms.available_from >= terms.available_until
    ):
        raise RewardRulesError(_("the window must end after it starts"))
    unknown = sorted(set(terms.tiers) - set(tiers))
    if unknown:
        raise RewardRulesError(_("there is no tier {tier}"), tier=unknown[0])


def availability(terms: Terms, *, at: datetime, tier_code: str) -> Availability:
    """Tell whether a member of ``tier_code`` may redeem the reward at ``at``, or why not.

    The window is ``[available_from, available_until)``.
    """
    if not terms.active:
        return Availability.inactive
    if terms.available_from is not None and at < terms.available_from:
        return Availability.not_yet
    if terms.available_until is not None and at >= terms.available_until:
        return Availability.ended
    if terms.tiers and tier_code not in terms.tiers:
        return Availability.tier
    return Availability.ok


def limit_window(terms: Terms, *, at: datetime, tz: ZoneInfo) -> Window:
    """The limit period holding ``at`` on the program's clock (``once``: all time)."""
    return period_of(terms.limit_period, at, tz)


def limit_left(terms: Terms, *, redeemed: int) -> int | None:
    """What the member may still redeem this period after ``redeemed`` (None: no limit)."""
    if terms.limit_count is None:
        return None
    return max(terms.limit_count - redeemed, 0)


def price(terms: Terms, quantity: int) -> tuple[int, int]:
    """Return (points, cash minor units) that ``quantity`` units cost."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise RewardRulesError(_("the quantity is 1 to {most}"), most=MAX_QUANTITY)
    return terms.points * quantity, terms.cash_minor * quantity


def may_cancel(status: RedemptionStatus) -> bool:
    """Tell whether a redemption in ``status`` may be cancelled (only a pending one)."""
    return status is RedemptionStatus.pending


def may_fulfil(status: RedemptionStatus) -> bool:
    """Tell whether a redemption in ``status`` may be picked up (only a pending one)."""
    return status is RedemptionStatus.pending


def kind_problem(kind: RewardKind, *, coupon_template: str | None, cash_minor: int) -> Text | None:
    """Say why a reward of ``kind`` cannot be defined so (None: it can).

    A coupon reward names the template its coupons come from and has no cash part: it is
    delivered at once, with nothing to pick up at a till where cash could be taken. Other
    kinds name no template.
    """
    if kind is RewardKind.coupon:
        if not coupon_template:
            return Text(_("a coupon reward names its coupon template (coupon_template)"))
        if cash_minor:
            return Text(_("a coupon reward has no cash part: nothing is picked up at a till"))
        return None
    if coupon_template:
        return Text(_("only a coupon reward names a coupon template"))
    return None
