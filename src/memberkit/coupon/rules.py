"""Pure coupon rules: fit, discount by line, the best combination, what a refund takes back.

Plain data in, plain data out; amounts are integer minor units (fen), rates integer basis
points (1/100 of a percent).

How a cart is discounted (the one order the preview and the order itself both follow):

1. The tier discount (a system benefit: ``tier_rate_bp`` is what the member pays, 9500 = 95 %)
   comes off every line first, unless a chosen coupon does not stack with it.
2. Coupons then apply one after the other by kind — gift (兑换券), percent off (折扣), amount off
   above a threshold (满减), cash voucher (代金券), free shipping — each on the amounts its lines
   still have after everything before it. A threshold or a minimum spend is judged on those
   amounts too, so no discount ever counts towards another's threshold.
3. A discount of the whole cart is spread over its eligible lines in proportion to what each
   still has, the cents left by rounding going to the lines with the largest remainders: the
   line discounts sum exactly to the discount, and none exceeds what its line had.

A refund of part of a line takes back the same part of that line's discount, computed on the
running total refunded so far, so refunds in pieces take back exactly what one refund would.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import combinations
from random import Random

#: Basis points in a whole (10000 = 100 %).
WHOLE = 10_000
#: Coupon codes: Crockford's base 32 without Z (no I, L, O, U: nothing to misread at a till),
#: 31 symbols, so that a check character modulo the prime 31 catches every single wrong
#: character and every swap of two neighbours; 14 random characters (69 bits, unguessable).
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXY"
CODE_LENGTH = 14

#: The most coupons one cart may offer for the best-combination search (2^8 subsets at most).
MAX_OFFERED = 8


class CouponKind(StrEnum):
    """What a coupon takes off; the order of the members is the order they apply in."""

    gift = "gift"  # 兑换券: one unit of a named item free
    percent_off = "percent_off"  # 折扣: a share of the eligible spend, up to a cap
    amount_off = "amount_off"  # 满减: a fixed amount once the eligible spend reaches a threshold
    cash = "cash"  # 代金券: a fixed amount off the eligible spend
    free_shipping = "free_shipping"  # 免运费: the shipping fee


APPLY_ORDER = {kind: rank for rank, kind in enumerate(CouponKind)}


class Unfit(StrEnum):
    """Why a coupon does not fit a cart (a stable code; the edge words it)."""

    not_yet_valid = "coupon_not_yet_valid"
    expired = "coupon_expired"
    wrong_store = "coupon_not_for_store"
    wrong_channel = "coupon_not_for_channel"
    no_eligible_line = "coupon_no_eligible_line"
    below_minimum = "coupon_below_minimum"
    with_points = "coupon_not_with_points"
    no_shipping = "coupon_no_shipping"
    not_stackable = "coupon_not_stackable"
    nothing_off = "coupon_nothing_off"
    #: Judged beside the rules, by the checkout: the template's money budget has less left
    #: than this coupon would take off (the order's atomic UPDATE decides in the end).
    budget_spent = "coupon_budget_spent"


@dataclass(frozen=True)
class Scope:
    """Where and on what a coupon applies; an empty include set means every one."""

    stores: frozenset[str] = frozenset()
    exclude_stores: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    exclude_categories: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    exclude_skus: frozenset[str] = frozenset()

    def covers(self, line: Line) -> bool:
        """Tell whether ``line`` is one the coupon's discount may come off."""
        return (
            (not self.categories or line.category in self.categories)
            and line.category not in self.exclude_categories
            and (not self.skus or line.sku in self.skus)
            and line.sku not in self.exclude_skus
        )


@dataclass(frozen=True)
class Stacking:
    """What a coupon may be used with (the template's stacking rules)."""

    with_coupons: bool = False
    with_tier_discount: bool = True
    with_points: bool = True


@dataclass(frozen=True)
class Offer:
    """A template's terms, as far as they decide a discount.

    ``off_minor``: what an amount-off or cash coupon takes off; ``threshold_minor``: the
    eligible spend an amount-off coupon needs; ``percent_bp``: the share a percent-off coupon
    takes (1500 = 15 % off, i.e. 8.5折), at most ``cap_minor``; ``gift_sku``: the item a gift
    coupon makes free; ``min_spend_minor``: the eligible spend any kind needs.
    """

    kind: CouponKind
    off_minor: int = 0
    threshold_minor: int = 0
    percent_bp: int = 0
    cap_minor: int | None = None
    gift_sku: str | None = None
    min_spend_minor: int = 0
    scope: Scope = field(default_factory=Scope)
    stacking: Stacking = field(default_factory=Stacking)

    def __post_init__(self) -> None:
        """Refuse terms no template may have (the template's validation says so first)."""
        if min(self.off_minor, self.threshold_minor, self.min_spend_minor, self.percent_bp) < 0:
            raise ValueError("coupon terms are never negative")
        if self.percent_bp > WHOLE or (self.cap_minor is not None and self.cap_minor < 0):
            raise ValueError("a percent off is at most 100 % with a cap of zero or more")
        if self.kind is CouponKind.gift and not self.gift_sku:
            raise ValueError("a gift coupon names its item")


@dataclass(frozen=True)
class Coupon:
    """A coupon a member holds: its code, its terms and when it may be used ([from, until))."""

    code: str
    offer: Offer
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class Line:
    """A cart line: ``amount_minor`` is what its ``quantity`` units cost before any discount."""

    line_no: int
    sku: str
    category: str
    quantity: int
    amount_minor: int


@dataclass(frozen=True)
class Cart:
    """What is being bought, where, through which channel, at what moment."""

    lines: tuple[Line, ...]
    at: datetime
    store_code: str | None = None
    channel: str = "store"
    shipping_minor: int = 0
    pays_with_points: bool = False
    tier_rate_bp: int = WHOLE

    @property
    def total_minor(self) -> int:
        """The cart before any discount, shipping included."""
        return sum(line.amount_minor for line in self.lines) + self.shipping_minor


@dataclass(frozen=True)
class Applied:
    """One coupon's discount: by line number, and off the shipping fee."""

    code: str
    by_line: Mapping[int, int]
    shipping_minor: int = 0

    @property
    def total_minor(self) -> int:
        """What this coupon took off in all."""
        return sum(self.by_line.values()) + self.shipping_minor


@dataclass(frozen=True)
class Plan:
    """What a cart pays after the tier discount and the coupons, line by line."""

    tier_by_line: Mapping[int, int]
    coupons: tuple[Applied, ...]
    due_by_line: Mapping[int, int]
    shipping_due_minor: int

    @property
    def tier_minor(self) -> int:
        """What the tier discount took off."""
        return sum(self.tier_by_line.values())

    @property
    def discount_minor(self) -> int:
        """Everything taken off: the tier discount and every coupon's."""
        return self.tier_minor + sum(applied.total_minor for applied in self.coupons)

    @property
    def due_minor(self) -> int:
        """What is left to pay, shipping included."""
        return sum(self.due_by_line.values()) + self.shipping_due_minor

    @property
    def codes(self) -> tuple[str, ...]:
        """The coupons used, in the order they applied."""
        return tuple(applied.code for applied in self.coupons)


def spread(total: int, amounts: Sequence[int]) -> list[int]:
    """Share ``total`` over ``amounts`` in proportion, by largest remainder.

    The shares sum exactly to ``total`` and none exceeds its amount (``total`` is at most their
    sum); ties in the remainder go to the earlier amount, so the result is deterministic.
    """
    whole = sum(amounts)
    if not 0 <= total <= whole:
        raise ValueError("a spread total lies between zero and the sum of the amounts")
    if total == 0:
        return [0] * len(amounts)
    shares = [total * amount // whole for amount in amounts]
    left = total - sum(shares)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(total * amounts[i] % whole), i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def fit(coupon: Coupon, cart: Cart) -> Unfit | None:
    """Tell why ``coupon`` cannot be used on ``cart`` as it stands, or None if it can.

    This judges what does not depend on other coupons (validity, store, channel, lines in
    scope, points); the minimum spend is judged again when the coupon applies, on what its
    lines still have then.
    """
    offer = coupon.offer
    if cart.at < coupon.valid_from:
        return Unfit.not_yet_valid
    if cart.at >= coupon.valid_until:
        return Unfit.expired
    scope = offer.scope
    if (scope.stores and cart.store_code not in scope.stores) or (
        cart.store_code in scope.exclude_stores
    ):
        return Unfit.wrong_store
    if scope.channels and cart.channel not in scope.channels:
        return Unfit.wrong_channel
    if cart.pays_with_points and not offer.stacking.with_points:
        return Unfit.with_points
    if offer.kind is CouponKind.free_shipping:
        if cart.shipping_minor == 0:
            return Unfit.no_shipping
        return None
    lines = [line for line in cart.lines if scope.covers(line)]
    if offer.kind is CouponKind.gift:
        lines = [line for line in lines if line.sku == offer.gift_sku]
    if not lines:
        return Unfit.no_eligible_line
    if sum(line.amount_minor for line in lines) < max(offer.min_spend_minor, _threshold(offer)):
        return Unfit.below_minimum
    return None


def _threshold(offer: Offer) -> int:
    return offer.threshold_minor if offer.kind is CouponKind.amount_off else 0


def apply(cart: Cart, coupons: Sequence[Coupon], *, tier: bool = True) -> Plan | Unfit:
    """Apply ``coupons`` (and the tier discount when ``tier``) to ``cart``, or tell why not.

    The coupons apply in the order of their kind (then of their code), each on what its lines
    still have; one that takes nothing off is refused (``nothing_off``), as is a set where a
    coupon does not stack with the others or with the tier discount.
    """
    if len(coupons) > 1 and not all(c.offer.stacking.with_coupons for c in coupons):
        return Unfit.not_stackable
    for coupon in coupons:
        unfit = fit(coupon, cart)
        if unfit is not None:
            return unfit
    tier = tier and all(c.offer.stacking.with_tier_discount for c in coupons)
    remaining = {line.line_no: line.amount_minor for line in cart.lines}
    tier_by_line = {line.line_no: 0 for line in cart.lines}
    if tier and cart.tier_rate_bp < WHOLE:
        numbers = list(remaining)
        whole = sum(remaining.values())
        off = whole * (WHOLE - cart.tier_rate_bp) // WHOLE
        for number, share in zip(
            numbers, spread(off, [remaining[n] for n in numbers]), strict=True
        ):
            tier_by_line[number] = share
            remaining[number] -= share
    shipping = cart.shipping_minor
    applied = []
    for coupon in sorted(coupons, key=lambda c: (APPLY_ORDER[c.offer.kind], c.code)):
        result = _take(coupon, cart, remaining, shipping)
        if isinstance(result, Unfit):
            return result
        for number, share in result.by_line.items():
            remaining[number] -= share
        shipping -= result.shipping_minor
        applied.append(result)
    return Plan(
        tier_by_line=tier_by_line,
        coupons=tuple(applied),
        due_by_line=remaining,
        shipping_due_minor=shipping,
    )


def _take(
    coupon: Coupon, cart: Cart, remaining: Mapping[int, int], shipping: int
) -> Applied | Unfit:
    """What ``coupon`` takes off the amounts as they stand, or why it takes nothing."""
    offer = coupon.offer
    if offer.kind is CouponKind.free_shipping:
        return Applied(coupon.code, {}, shipping) if shipping else Unfit.nothing_off
    lines = [line for line in cart.lines if offer.scope.covers(line)]
    if offer.kind is CouponKind.gift:
        lines = [line for line in lines if line.sku == offer.gift_sku]
    amounts = [remaining[line.line_no] for line in lines]
    spend = sum(amounts)
    if spend < max(offer.min_spend_minor, _threshold(offer)):
        return Unfit.below_minimum  # reached before the discounts ahead of it, not after
    if offer.kind is CouponKind.gift:
        # One unit of the first line of the item, at what that unit still costs.
        line = lines[0]
        off = remaining[line.line_no] // line.quantity
        return Applied(coupon.code, {line.line_no: off}) if off else Unfit.nothing_off
    if offer.kind is CouponKind.percent_off:
        off = spend * offer.percent_bp // WHOLE
        if offer.cap_minor is not None:
            off = min(off, offer.cap_minor)
    else:  # amount off and cash: a fixed amount, never more than the lines still have
        off = min(offer.off_minor, spend)
    if off == 0:
        return Unfit.nothing_off
    shares = spread(off, amounts)
    return Applied(
        coupon.code, {line.line_no: share for line, share in zip(lines, shares, strict=True)}
    )


def best(cart: Cart, coupons: Iterable[Coupon]) -> Plan:
    """Choose the coupons that take the most off ``cart`` (the preview's default).

    Every set of fitting coupons that may be used together is tried, with the tier discount
    and, when a set does not stack with it, without; the largest discount wins. Ties go to
    fewer coupons (the member keeps the rest), then to the coupons that lapse sooner, then to
    their codes. With no coupon that fits, the plan is the tier discount alone.
    """
    offered = sorted(
        (c for c in coupons if fit(c, cart) is None), key=lambda c: (c.valid_until, c.code)
    )[:MAX_OFFERED]
    plain = apply(cart, ())
    assert isinstance(plain, Plan)  # no coupon: nothing to refuse
    chosen, chosen_key = plain, _rank(plain, ())
    for size in range(1, len(offered) + 1):
        for subset in combinations(offered, size):
            plan = apply(cart, subset)
            if isinstance(plan, Unfit):
                continue
            key = _rank(plan, subset)
            if key < chosen_key:
                chosen, chosen_key = plan, key
    return chosen


def _rank(
    plan: Plan, subset: Sequence[Coupon]
) -> tuple[int, int, tuple[datetime, ...], tuple[str, ...]]:
    """Order plans: more off first, then fewer coupons, sooner-lapsing ones, then by code."""
    return (
        -plan.discount_minor,
        len(subset),
        tuple(sorted(c.valid_until for c in subset)),
        tuple(sorted(c.code for c in subset)),
    )


def taken_back(discount: int, amount: int, *, refunded_before: int, refunding: int) -> int:
    """What a refund of ``refunding`` (of a line of ``amount``) takes back of its ``discount``.

    The share is computed on the running total refunded, ``discount × refunded ÷ amount``
    rounded down, minus what earlier refunds took: refunds in pieces take back exactly what
    one refund of their sum would, and a line refunded in full gives back all its discount.
    """
    if not 0 <= refunded_before <= refunded_before + refunding <= amount or refunding < 0:
        raise ValueError("a refund lies within what is left of its line")
    if amount == 0:
        return 0
    after = refunded_before + refunding
    return discount * after // amount - discount * refunded_before // amount


def new_code(rng: Random | None = None) -> str:
    """Draw a coupon code: 14 random characters and a check character (``rng`` for demos)."""
    draw = rng.randrange if rng is not None else secrets.randbelow
    body = "".join(CODE_ALPHABET[draw(31)] for _n in range(CODE_LENGTH))
    return body + _check(body)


def normalize_code(typed: str) -> str | None:
    """Return a typed or scanned code in its stored form, or None if it cannot be one.

    Case, spaces and dashes are ignored and the letters people misread are read as the
    digits they look like (O as 0, I and L as 1); the check character catches one wrong or
    two swapped characters, so a mistyped code is told apart from an unknown one.
    """
    code = typed.strip().upper().replace("-", "").replace(" ", "")
    code = code.translate(str.maketrans("OIL", "011"))
    if len(code) != CODE_LENGTH + 1 or any(char not in CODE_ALPHABET for char in code):
        return None
    return code if _check(code[:-1]) == code[-1] else None


def _check(body: str) -> str:
    """The check character: the sum of each symbol's value times its position, modulo 31."""
    total = sum((index + 1) * CODE_ALPHABET.index(char) for index, char in enumerate(body))
    return CODE_ALPHABET[total % 31]
