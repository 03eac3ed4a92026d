"""The checkout preview: what an order would cost, take off and earn, with nothing written.

It decides with the order's own functions — :func:`memberkit.order.service.checkout` for the
tier discount and the coupons, :func:`memberkit.order.rules.decide` for what it pays and
earns — so posting the same cart does what the preview said, as long as nothing about the
member changes in between. It takes no lock and writes nothing (not even an idempotency
record); the caller reads it in a read-only unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit.coupon import rules as coupon_rules
from memberkit.coupon import use as coupon_use
from memberkit.kit.i18n import Text, _
from memberkit.kit.money import format_money
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import Asset
from memberkit.ledger.repository import member_balances
from memberkit.member import service as member_service
from memberkit.member.service import MemberRef
from memberkit.order import rules, service
from memberkit.order.errors import InvalidOrder
from memberkit.order.rules import LineIn
from memberkit.program.service import ProgramConfig
from memberkit.store import service as store_service


@dataclass(frozen=True)
class CartIn:
    """A cart to preview; ``coupons`` None: the best of the member's coupons, () none."""

    member: MemberRef
    store_code: str | None
    channel: str
    occurred_at: datetime
    lines: list[LineIn]
    coupons: tuple[str, ...] | None = None
    points: int = 0
    wallet_minor: int = 0


@dataclass(frozen=True)
class Offered:
    """One of the member's coupons and whether it fits the cart alone (else why not)."""

    code: str
    name: str
    kind: str
    valid_until: datetime
    unfit: coupon_rules.Unfit | None
    chosen: bool


@dataclass(frozen=True)
class Preview:
    """What the cart would cost and earn; ``order`` holds the discounts as an order would."""

    member_no: str
    tier_code: str
    tier_rate_bp: int
    best: bool
    order: service.OrderResult
    offered: tuple[Offered, ...]
    points_balance: int
    most_points_payable: int
    wallet_available: int
    points: int
    points_value_minor: int
    wallet_minor: int

    @property
    def left_to_pay_minor(self) -> int:
        """What is left for money once points and stored value paid their part."""
        return self.order.total_minor - self.points_value_minor - self.wallet_minor


def preview(session: Session, *, program: ProgramConfig, cart: CartIn, now: datetime) -> Preview:
    """Preview ``cart``: its tier discount and coupons, what is due and what it would earn.

    With ``coupons`` None the best combination of the member's coupons is chosen
    (:func:`memberkit.coupon.rules.best`); named coupons are refused exactly as the order
    would refuse them. Every coupon the member holds is listed with why it does not fit
    the cart alone, if it does not. Points and stored value to pay are checked against what
    the member holds and what is due.
    """
    rules.check_lines(cart.lines)
    member = member_service.find(
        session,
        program_id=program.id,
        member_no=cart.member.member_no,
        phone=cart.member.phone,
        qr_token=cart.member.qr_token,
    )
    member_service.require_active(member)
    if cart.store_code:
        store_service.active_store_id(session, program_id=program.id, code=cart.store_code)
    pays_with_points = cart.points > 0
    base = service.cart_of(
        session,
        program=program,
        tier_code=member.tier_code,
        lines=cart.lines,
        store_code=cart.store_code,
        channel=cart.channel,
        at=cart.occurred_at,
        pays_with_points=pays_with_points,
    )
    judged = coupon_use.judged(session, program_id=program.id, member_id=member.id, cart=base)
    codes = cart.coupons
    if codes is None:
        codes = coupon_rules.best(base, [j.coupon.terms for j in judged if j.unfit is None]).codes
    decided = service.checkout(
        session,
        program=program,
        member_id=member.id,
        tier_code=member.tier_code,
        lines=cart.lines,
        store_code=cart.store_code,
        channel=cart.channel,
        at=cart.occurred_at,
        codes=codes,
        pays_with_points=pays_with_points,
    )
    plan = decided.plan
    held = member_balances(session, member_id=member.id)
    points_balance = held.get(Asset.points, 0) - ledger_repository.due_points(
        session, member_id=member.id, as_of=now
    )
    wallet_available = held.get(Asset.wallet_principal, 0) + held.get(Asset.wallet_bonus, 0)
    with_points = all(c.terms.offer.stacking.with_points for c in decided.coupons)
    most_points = (
        rules.most_points_payable(
            total_minor=plan.due_minor,
            balance=points_balance,
            points_per_unit=program.points_per_currency_unit,
        )
        if with_points
        else 0
    )
    payments = _payments(
        program,
        points=cart.points,
        most_points=most_points,
        wallet_minor=cart.wallet_minor,
        wallet_available=wallet_available,
        due_minor=plan.due_minor,
    )
    decision = rules.decide(
        program.earning,
        service.facts(
            session,
            program=program,
            member_id=member.id,
            tier_code=member.tier_code,
            now=now,
            lines=decided.net_lines(cart.lines),
            store_code=cart.store_code,
            at=cart.occurred_at,
            payments=payments,
            discount_minor=plan.discount_minor,
        ),
    )
    chosen = set(plan.codes)
    return Preview(
        member_no=member.member_no,
        tier_code=member.tier_code,
        tier_rate_bp=base.tier_rate_bp,
        best=cart.coupons is None,
        order=service.OrderResult(
            order_id=0,
            external_id="",
            member_no=member.member_no,
            total_minor=decision.total_minor,
            eligible_minor=decision.earning.eligible_minor,
            points_paid=decision.points_paid,
            points_earned=decision.earning.points,
            growth_earned=decision.growth_earned,
            points_balance=points_balance,
            growth_balance=held.get(Asset.growth, 0),
            occurred_at=cart.occurred_at,
            wallet_principal_paid=decision.wallet_principal,
            wallet_bonus_paid=decision.wallet_bonus,
            tier_discount_minor=plan.tier_minor,
            coupon_discount_minor=plan.discount_minor - plan.tier_minor,
            coupons=decided.coupon_discounts(),
            line_discounts=decided.discounts(cart.lines),
        ),
        offered=tuple(
            Offered(
                j.coupon.coupon.code,
                j.coupon.template.name,
                j.coupon.template.kind,
                j.coupon.coupon.valid_until,
                j.unfit,
                j.coupon.coupon.code in chosen,
            )
            for j in judged
        ),
        points_balance=points_balance,
        most_points_payable=most_points,
        wallet_available=wallet_available,
        points=cart.points,
        points_value_minor=sum(p.amount_minor for p in payments if p.method == "points"),
        wallet_minor=cart.wallet_minor,
    )


def _payments(
    program: ProgramConfig,
    *,
    points: int,
    most_points: int,
    wallet_minor: int,
    wallet_available: int,
    due_minor: int,
) -> Sequence[rules.Priced]:
    """The payments the preview assumes: the points and stored value asked, money the rest."""
    asked = []
    if points:
        if points > most_points:
            raise InvalidOrder(
                problem=Text(
                    _("at most {most} points may pay this order, {points} asked"),
                    most=most_points,
                    points=points,
                )
            )
        asked.append(rules.PaymentIn("points", points=points))
    if wallet_minor:
        if wallet_minor > wallet_available:
            raise InvalidOrder(
                problem=Text(
                    _("the member holds {held} of stored value, {asked} asked"),
                    held=format_money(wallet_available),
                    asked=format_money(wallet_minor),
                )
            )
        asked.append(rules.PaymentIn("wallet", wallet_minor))
    priced = rules.price_payments(asked, points_per_unit=program.points_per_currency_unit)
    rest = due_minor - sum(payment.amount_minor for payment in priced)
    if rest < 0:
        raise InvalidOrder(
            problem=Text(
                _("points and stored value pay more than the {due} due"),
                due=format_money(due_minor),
            )
        )
    return [*priced, rules.Priced("cash", rest, 0)] if rest else priced
