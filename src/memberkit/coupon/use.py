"""Coupons at a checkout: which of a member's coupons a cart may use, their use and return.

The order path and the checkout preview both call :func:`named` and :func:`plan` (the pure
:func:`memberkit.coupon.rules.apply`), so a preview says exactly what the order will do. The
writes run in the order's member event (the member's row locked): :func:`redeem` marks each
coupon used and consumes its template's budget by conditional UPDATEs, :func:`take_back`
lowers them again when a refund takes a discount back, and gives a coupon back once all it
took off is back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit.coupon import rules, use_repository
from memberkit.coupon.models import Coupon, CouponStatus, CouponTemplate
from memberkit.coupon.terms import held
from memberkit.errors import Conflict, InvalidInput, NotFound
from memberkit.kit.i18n import _
from memberkit.kit.time import utcnow

#: The most coupons one order may name.
MAX_NAMED = 10
#: The most of a member's coupons a preview judges (soonest to lapse first).
MAX_JUDGED = 50


class CouponNotFound(NotFound):
    """No coupon of the program has that code."""

    code = "coupon_not_found"
    message = _("There is no coupon {code}.")


class CouponNotYours(Conflict):
    """The coupon is held by another member (or by none yet)."""

    code = "coupon_not_yours"
    message = _("Coupon {code} is not this member's.")


class CouponUsed(Conflict):
    """The coupon was used already."""

    code = "coupon_used"
    message = _("Coupon {code} has been used already.")


class CouponRevoked(Conflict):
    """The coupon was revoked."""

    code = "coupon_revoked"
    message = _("Coupon {code} has been revoked.")


class CouponNamedTwice(InvalidInput):
    """An order names one coupon twice."""

    code = "coupon_named_twice"
    message = _("Coupon {code} is named twice.")


class CouponTooMany(InvalidInput):
    """An order names more coupons than it may."""

    code = "coupon_too_many"
    message = _("An order may name at most {most} coupons.")


class CouponBudgetSpent(Conflict):
    """The coupon's template has no budget left for this discount."""

    code = "coupon_budget_spent"
    message = _("Coupon {code}: the campaign's budget is spent.")


#: Why a coupon does not fit a cart, worded; the stable code is the :class:`rules.Unfit` value.
UNFIT_MESSAGES: Mapping[rules.Unfit, str] = {
    rules.Unfit.not_yet_valid: _("Coupon {code} is not valid yet."),
    rules.Unfit.expired: _("Coupon {code} has expired."),
    rules.Unfit.budget_spent: _("Coupon {code}: the campaign's budget is spent."),
    rules.Unfit.wrong_store: _("Coupon {code} is not for this store."),
    rules.Unfit.wrong_channel: _("Coupon {code} is not for this channel."),
    rules.Unfit.no_eligible_line: _("Coupon {code} applies to none of these items."),
    rules.Unfit.below_minimum: _(
        "Coupon {code}: the items it applies to do not reach its minimum spend."
    ),
    rules.Unfit.with_points: _("Coupon {code} cannot be used when paying with points."),
    rules.Unfit.no_shipping: _("Coupon {code} takes off shipping, and there is none."),
    rules.Unfit.not_stackable: _("Coupon {code} cannot be used with the other coupons."),
    rules.Unfit.nothing_off: _("Coupon {code} would take nothing off."),
}


class CouponUnfit(Conflict):
    """A named coupon does not fit the cart; ``code`` is the :class:`rules.Unfit` value."""

    code = "coupon_unfit"
    message = _("Coupon {code} does not fit this order.")

    def __init__(self, unfit: rules.Unfit, *, code: str) -> None:
        super().__init__(UNFIT_MESSAGES[unfit], code=code)
        self.code = unfit.value
        self.unfit = unfit


@dataclass(frozen=True)
class Held:
    """A coupon a member holds, with its template and its terms as the rules see them."""

    coupon: Coupon
    template: CouponTemplate

    @property
    def terms(self) -> rules.Coupon:
        """The coupon as :func:`rules.apply` judges it."""
        return held(self.coupon, self.template)


def _lookup_codes(typed: str) -> tuple[str, ...]:
    """The stored codes a typed or scanned code may be: normalized, and as given (imported)."""
    given = typed.strip()
    normal = rules.normalize_code(given)
    return (normal, given) if normal is not None and normal != given else (given,)


def named(session: Session, *, program_id: int, member_id: int, codes: Sequence[str]) -> list[Held]:
    """Return the coupons ``codes`` name, each the member's and available, or refuse.

    A code is looked up in its normalized form (:func:`rules.normalize_code`: case, spaces,
    dashes and misread letters forgiven) and as given (imported partner codes need not have
    the check format). Refuses a code twice, one that names no coupon, another member's,
    a used or a revoked one. Read under the member's lock, so the answer holds until commit.
    """
    if len(codes) > MAX_NAMED:
        raise CouponTooMany(most=MAX_NAMED)
    wanted = {typed: _lookup_codes(typed) for typed in codes}
    found = {
        coupon.code: (coupon, template)
        for coupon, template in use_repository.by_codes(
            session,
            program_id=program_id,
            codes={code for candidates in wanted.values() for code in candidates},
        )
    }
    result: list[Held] = []
    seen: set[int] = set()
    for typed, candidates in wanted.items():
        match = next((found[code] for code in candidates if code in found), None)
        if match is None:
            raise CouponNotFound(code=typed.strip())
        coupon, template = match
        if coupon.id in seen:
            raise CouponNamedTwice(code=coupon.code)
        seen.add(coupon.id)
        if coupon.member_id != member_id:
            raise CouponNotYours(code=coupon.code)
        if coupon.status == CouponStatus.used:
            raise CouponUsed(code=coupon.code)
        if coupon.status == CouponStatus.revoked:
            raise CouponRevoked(code=coupon.code)
        result.append(Held(coupon, template))
    if len(codes) != len(result):
        raise CouponNamedTwice(code=codes[0])
    return result


def plan(cart: rules.Cart, coupons: Sequence[Held]) -> rules.Plan:
    """Apply the tier discount and ``coupons`` to ``cart``, or refuse with the unfit code.

    The one decision of both the order and the preview (:func:`rules.apply`).
    """
    outcome = rules.apply(cart, [coupon.terms for coupon in coupons])
    if isinstance(outcome, rules.Unfit):
        raise CouponUnfit(outcome, code=_culprit(cart, coupons, outcome))
    return outcome


def _culprit(cart: rules.Cart, coupons: Sequence[Held], unfit: rules.Unfit) -> str:
    """The code of the coupon a refusal is about (the first that alone is refused so)."""
    for coupon in coupons:
        terms = coupon.terms
        if unfit is rules.Unfit.not_stackable and not terms.offer.stacking.with_coupons:
            return coupon.coupon.code
        if rules.fit(terms, cart) is unfit:
            return coupon.coupon.code
        if rules.apply(cart, [terms]) is unfit:
            return coupon.coupon.code
    return coupons[-1].coupon.code if coupons else ""


@dataclass(frozen=True)
class Judged:
    """One of a member's coupons as a preview shows it: why it does not fit, if it does not."""

    coupon: Held
    unfit: rules.Unfit | None


def judged(
    session: Session,
    *,
    program_id: int,
    member_id: int,
    cart: rules.Cart,
    now: datetime | None = None,
) -> list[Judged]:
    """The member's available coupons (soonest to lapse first), each judged alone on ``cart``.

    A coupon that fits alone may still take nothing off once the tier discount is applied:
    it is judged with :func:`rules.apply` as the only coupon. One that has lapsed by ``now``
    (the real moment) is expired whatever time the cart gives, and one whose template's budget
    has less left than it would take off is ``budget_spent``, as the order would find them.
    """
    rows = use_repository.available_of(
        session, program_id=program_id, member_id=member_id, limit=MAX_JUDGED
    )
    out = []
    for coupon, template in rows:
        held_coupon = Held(coupon, template)
        out.append(Judged(held_coupon, unfit_now(held_coupon, cart, now or utcnow())))
    return out


def unfit_now(coupon: Held, cart: rules.Cart, now: datetime) -> rules.Unfit | None:
    """Why ``coupon`` alone cannot be used on ``cart`` at the real moment ``now`` (or None)."""
    if now >= coupon.coupon.valid_until:
        return rules.Unfit.expired
    outcome = rules.apply(cart, [coupon.terms])
    if isinstance(outcome, rules.Unfit):
        return outcome
    return rules.Unfit.budget_spent if over_budget(coupon, outcome) else None


def over_budget(coupon: Held, plan: rules.Plan) -> bool:
    """Tell whether ``plan`` takes more off with ``coupon`` than its template has left."""
    budget = coupon.template.budget_minor
    if budget is None:
        return False
    off = sum(a.total_minor for a in plan.coupons if a.code == coupon.coupon.code)
    return coupon.template.discount_used_minor + off > budget


def redeem(
    session: Session,
    *,
    order_id: int,
    member_id: int,
    at: datetime,
    coupons: Sequence[Held],
    plan: rules.Plan,
) -> None:
    """Use ``coupons`` for the order as ``plan`` applied them, or refuse (nothing kept).

    Each coupon is marked used by a conditional UPDATE (a coupon is used at most once, even
    by orders posted at once), then each template's budget is consumed by another, in
    template order so that orders of different members never wait on each other in a cycle.
    """
    by_code = {coupon.coupon.code: coupon for coupon in coupons}
    applied = [(by_code[a.code], a) for a in plan.coupons]
    for coupon, _applied in sorted(applied, key=lambda pair: pair[0].coupon.id):
        if not use_repository.mark_used(
            session, coupon_id=coupon.coupon.id, member_id=member_id, order_id=order_id, at=at
        ):
            raise CouponUsed(code=coupon.coupon.code)
    for coupon, discount in sorted(applied, key=lambda pair: pair[0].template.id):
        if not use_repository.consume_budget(
            session, template_id=coupon.template.id, minor=discount.total_minor
        ):
            raise CouponBudgetSpent(code=coupon.coupon.code)
    use_repository.record_uses(  # in the order they applied
        session,
        rows=[
            {
                "order_id": order_id,
                "coupon_id": coupon.coupon.id,
                "template_id": coupon.template.id,
                "discount_minor": discount.total_minor,
                "taken_back_minor": 0,
                "by_line": {str(number): off for number, off in discount.by_line.items() if off},
                "returned_at": None,
            }
            for coupon, discount in applied
        ],
    )


@dataclass(frozen=True)
class LineRefund:
    """A line as one refund returns it: ``amount`` is what it measures (paid, or units)."""

    line_no: int
    amount: int
    refunded_before: int
    refunding: int


def taken_back(by_line: Mapping[int, int], lines: Sequence[LineRefund]) -> int:
    """What a refund of ``lines`` takes back of a discount of ``by_line`` (its line shares)."""
    return sum(
        rules.taken_back(
            by_line.get(line.line_no, 0),
            line.amount,
            refunded_before=line.refunded_before,
            refunding=line.refunding,
        )
        for line in lines
    )


@dataclass(frozen=True)
class TakenBack:
    """What one refund took back of an order's coupons, and the coupons it gave back."""

    minor: int
    by_code: Mapping[str, int]
    returned: tuple[str, ...]


def take_back(
    session: Session, *, order_id: int, at: datetime, lines: Sequence[LineRefund]
) -> TakenBack:
    """Take back each coupon's share of a refund of ``lines``; give back what is all back.

    A coupon is given back (available again) once refunds took back all it took off, when
    its template returns coupons on refund and it is still valid at ``at``; its use stays in
    ``order_coupons`` with ``returned_at``. The template's budget gets back what is taken.
    """
    total, by_code, returned = 0, {}, []
    for use, coupon, template in use_repository.uses_of(session, order_id=order_id):
        shares = {int(number): off for number, off in (use.by_line or {}).items()}
        minor = min(taken_back(shares, lines), use.discount_minor - use.taken_back_minor)
        if minor:
            use_repository.take_back(session, use_id=use.id, minor=minor)
            use_repository.release_budget(session, template_id=template.id, minor=minor)
            total += minor
            by_code[coupon.code] = minor
        all_back = use.taken_back_minor + minor >= use.discount_minor
        if (
            minor
            and all_back
            and use.returned_at is None
            and template.return_on_refund
            and coupon.valid_from <= at < coupon.valid_until
            and utcnow() < coupon.valid_until  # lapsed by now: a back-dated refund gives none
            and use_repository.give_back(
                session, use_id=use.id, coupon_id=coupon.id, order_id=order_id, at=at
            )
        ):
            returned.append(coupon.code)
    return TakenBack(total, by_code, tuple(returned))
