"""Posting orders and refunds: the hot path a POS waits for.

One call is one unit of work. The member's row is locked first, so everything that changes a
member's balances is serialized; earning, burning and claw-back are ledger postings written in
the same transaction as the order. A refusal raises before anything is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from fractions import Fraction

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.auth.service import require_order_access
from memberkit.benefit import service as benefit_service
from memberkit.coupon import rules as coupon_rules
from memberkit.coupon import use as coupon_use
from memberkit.growth import service as growth_service
from memberkit.growth.rules import ORDER
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _
from memberkit.kit.money import format_money
from memberkit.kit.time import FUTURE_TOLERANCE, Timing, as_utc, iso, utcnow
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import (
    AccountCode,
    Asset,
    TransactionKind,
)
from memberkit.ledger.posting import claw_back, give_back
from memberkit.ledger.repository import member_balances
from memberkit.ledger.service import Posting, expire_due
from memberkit.member.service import MemberKey, MemberRef, TierOutcome
from memberkit.order import queries, repository, rules
from memberkit.order.errors import (
    HistoryOrderRefund,
    InvalidRefund,
    NonMemberCoupon,
    NonMemberPointsPayment,
    NonMemberWalletPayment,
    OrderExists,
    OrderNotFound,
    RefundBeforeOrder,
    RefundExceedsOrder,
    RefundExists,
)
from memberkit.order.models import Order, OrderLine, OrderSource
from memberkit.order.rules import LineIn, PaymentIn
from memberkit.pipeline import Applied, EventKind, Requires
from memberkit.program.service import ProgramConfig
from memberkit.store import service as store_service
from memberkit.wallet.rules import returned_so_far


@dataclass(frozen=True)
class OrderIn:
    """An order as received from a till or an online channel."""

    external_id: str
    #: None: a sale to no member (a non-member sale), stored and earning nothing.
    member: MemberRef | None
    store_code: str | None
    channel: str
    occurred_at: datetime
    lines: list[LineIn]
    payments: list[PaymentIn]
    #: The codes of the member's coupons it uses, as typed or scanned.
    coupons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CouponDiscount:
    """What one coupon took off an order, in all and by line number."""

    code: str
    name: str
    discount_minor: int
    by_line: dict[int, int]


@dataclass(frozen=True)
class LineDiscount:
    """One line's discounts: ``amount_minor`` before them, ``due_minor`` what is left to pay."""

    line_no: int
    amount_minor: int
    tier_discount_minor: int
    coupon_discount_minor: int
    due_minor: int


@dataclass(frozen=True)
class OrderResult:
    """What posting an order did."""

    order_id: int
    external_id: str
    #: None for a sale to no member (a non-member sale).
    member_no: str | None
    total_minor: int
    eligible_minor: int
    points_paid: int
    points_earned: int
    growth_earned: int
    points_balance: int
    growth_balance: int
    occurred_at: datetime
    tier: TierOutcome | None = None
    wallet_principal_paid: int = 0
    wallet_bonus_paid: int = 0
    #: What the tier discount and the coupons took off (``total_minor`` is what was due).
    tier_discount_minor: int = 0
    coupon_discount_minor: int = 0
    coupons: tuple[CouponDiscount, ...] = ()
    #: Line by line, when anything was taken off.
    line_discounts: tuple[LineDiscount, ...] = ()

    @property
    def discount_minor(self) -> int:
        """Everything taken off the lines: the tier discount and the coupons'."""
        return self.tier_discount_minor + self.coupon_discount_minor

    @property
    def lines_minor(self) -> int:
        """What the lines came to before the tier discount and the coupons."""
        return self.total_minor + self.discount_minor


@dataclass(frozen=True)
class RefundIn:
    """A refund by ``lines`` ({line_no: quantity}), by ``amount_minor``, or else of all left.

    ``occurred_at`` None: now, or the order's own time if a till's clock dated it later.
    """

    external_id: str
    order_external_id: str
    occurred_at: datetime | None
    amount_minor: int | None = None
    lines: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    """What posting a refund did; ``points_debt`` > 0 when claw-back left the balance negative.

    ``points_reversed`` is what was taken back; ``points_already_expired`` the part of the
    refund's share of the order's points that had expired and so was not taken again.
    """

    refund_id: int
    external_id: str
    order_external_id: str
    #: None for a refund of a non-member sale.
    member_no: str | None
    amount_minor: int
    points_reversed: int
    growth_reversed: int
    points_returned: int
    points_balance: int
    growth_balance: int
    points_debt: int
    wallet_principal_returned: int = 0
    wallet_bonus_returned: int = 0
    points_already_expired: int = 0
    tier: TierOutcome | None = None
    #: What the refund took back of the order's tier discount and coupons' discount, and the
    #: coupons it gave back to the member.
    tier_taken_back_minor: int = 0
    coupon_taken_back_minor: int = 0
    coupons_returned: tuple[str, ...] = ()


@dataclass(frozen=True)
class Checkout:
    """An order's discounts as decided: the plan, the coupons it uses, the lines' total."""

    plan: coupon_rules.Plan
    coupons: list[coupon_use.Held]
    lines_minor: int

    def net_lines(self, lines: Sequence[LineIn]) -> list[rules.EarnLine]:
        """The lines at what is left to pay for them (what earns and what refunds return)."""
        due = self.plan.due_by_line
        return [
            rules.EarnLine(due[number], line.category) for number, line in enumerate(lines, start=1)
        ]

    def discounts(self, lines: Sequence[LineIn]) -> tuple[LineDiscount, ...]:
        """Line by line, what came off (empty when nothing did)."""
        plan = self.plan
        if not plan.discount_minor:
            return ()
        coupon_off = self.coupon_by_line()
        return tuple(
            LineDiscount(
                number,
                line.amount_minor,
                plan.tier_by_line[number],
                coupon_off.get(number, 0),
                plan.due_by_line[number],
            )
            for number, line in enumerate(lines, start=1)
        )

    def coupon_by_line(self) -> dict[int, int]:
        """What all the coupons took off each line."""
        off: dict[int, int] = {}
        for applied in self.plan.coupons:
            for number, share in applied.by_line.items():
                off[number] = off.get(number, 0) + share
        return off

    def coupon_discounts(self) -> tuple[CouponDiscount, ...]:
        """Each coupon's discount, in the order they applied."""
        names = {held.coupon.code: held.template.name for held in self.coupons}
        return tuple(
            CouponDiscount(
                applied.code,
                names[applied.code],
                applied.total_minor,
                {number: off for number, off in applied.by_line.items() if off},
            )
            for applied in self.plan.coupons
        )


def checkout(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    tier_code: str,
    lines: Sequence[LineIn],
    store_code: str | None,
    channel: str,
    at: datetime,
    codes: Sequence[str],
    pays_with_points: bool,
    now: datetime | None = None,
) -> Checkout:
    """Decide an order's discounts: the member's tier discount, then the coupons it names.

    The one decision of both the order (under the member's lock) and the checkout preview:
    a :class:`memberkit.coupon.rules.Cart` of the lines at their price, the tier's rate
    (:func:`memberkit.benefit.service.tier_discount_rate`) and
    :func:`memberkit.coupon.use.plan`. Refuses a named coupon that cannot be used
    (:mod:`memberkit.coupon.use`'s errors, the unfit code of :class:`coupon_rules.Unfit`),
    one that has lapsed by ``now`` (the real moment: a back-dated order does not revive an
    expired coupon), and one whose template's budget has less left than it would take off.
    """
    cart = cart_of(
        session,
        program=program,
        tier_code=tier_code,
        lines=lines,
        store_code=store_code,
        channel=channel,
        at=at,
        pays_with_points=pays_with_points,
    )
    held = (
        coupon_use.named(session, program_id=program.id, member_id=member_id, codes=codes)
        if codes
        else []
    )
    moment = now or utcnow()
    for coupon in held:
        if moment >= coupon.coupon.valid_until:
            raise coupon_use.CouponUnfit(coupon_rules.Unfit.expired, code=coupon.coupon.code)
    plan = coupon_use.plan(cart, held)
    for coupon in held:
        if coupon_use.over_budget(coupon, plan):
            raise coupon_use.CouponBudgetSpent(code=coupon.coupon.code)
    return Checkout(plan, held, sum(line.amount_minor for line in lines))


def cart_of(
    session: Session,
    *,
    program: ProgramConfig,
    tier_code: str,
    lines: Sequence[LineIn],
    store_code: str | None,
    channel: str,
    at: datetime,
    pays_with_points: bool,
) -> coupon_rules.Cart:
    """The cart the coupon rules judge: the lines at their price, and the tier's rate.

    Lines are numbered from 1, as the order stores them.
    """
    return coupon_rules.Cart(
        lines=tuple(
            coupon_rules.Line(number, line.sku, line.category, line.quantity, line.amount_minor)
            for number, line in enumerate(lines, start=1)
        ),
        at=at,
        store_code=store_code,
        channel=channel,
        pays_with_points=pays_with_points,
        tier_rate_bp=benefit_service.tier_discount_rate(
            session, program=program, tier_code=tier_code
        ),
    )


def post_order(
    session: Session, *, program: ProgramConfig, order: OrderIn, timing: Timing | None = None
) -> OrderResult:
    """Record an order: burn the points that paid for it, earn points and growth on the rest.

    A member event (:mod:`memberkit.pipeline`). Under the member's lock the tier discount and
    the coupons the order names are decided (:func:`checkout`), the payments must add up to
    what is left (the due), and the coupons are used (:func:`memberkit.coupon.use.redeem`);
    what it pays and earns is decided by :func:`memberkit.order.rules.decide` on the lines at
    what is left to pay for them. Too few points or too little stored value refuses the
    whole order. ``timing`` is when it is processed (default: live, now, within the program's
    back-dating bound). The caller checks idempotency first; a second order with the same
    external id is refused (``order_exists``), or fails on the unique constraint.

    An order naming no member is a non-member sale (:func:`_post_sale`).
    """
    timing = timing or Timing.live()
    rules.check_lines(order.lines)
    if order.member is None:
        _check_sale(order)
    payments = rules.price_payments(
        order.payments, points_per_unit=program.points_per_currency_unit
    )
    lines_minor = sum(line.amount_minor for line in order.lines)
    if sum(payment.amount_minor for payment in payments) > lines_minor:
        # More than the lines: too much whatever the discounts (refused before the lock).
        rules.check_paid(payments, lines_minor=lines_minor, discount_minor=0)
    timing.check(order.occurred_at, backdate_days=program.policies.backdate_days)
    if order.member is None:
        return _post_sale(session, program=program, order=order, payments=payments)
    member = order.member

    def post(session: Session, applied: Applied) -> OrderResult:
        store_id = _new_order_store(session, program=program, order=order)
        decided = checkout(
            session,
            program=program,
            member_id=applied.member.id,
            tier_code=applied.member.tier_code,
            lines=order.lines,
            store_code=order.store_code,
            channel=order.channel,
            at=order.occurred_at,
            now=applied.now,
            codes=order.coupons,
            pays_with_points=any(payment.points for payment in payments),
        )
        rules.check_paid(
            payments, lines_minor=lines_minor, discount_minor=decided.plan.discount_minor
        )
        decision = rules.decide(
            program.earning,
            facts(
                session,
                program=program,
                member_id=applied.member.id,
                tier_code=applied.member.tier_code,
                now=applied.now,
                lines=decided.net_lines(order.lines),
                store_code=order.store_code,
                at=order.occurred_at,
                payments=payments,
                discount_minor=decided.plan.discount_minor,
            ),
        )
        applied.order_id = _insert_order(
            session,
            program_id=program.id,
            order=order,
            member_id=applied.member.id,
            store_id=store_id,
            payments=payments,
            decision=decision,
            decided=decided,
        )
        if decided.coupons:
            coupon_use.redeem(
                session,
                order_id=applied.order_id,
                member_id=applied.member.id,
                at=order.occurred_at,
                coupons=decided.coupons,
                plan=decided.plan,
            )
        post_earning(
            session,
            external_id=order.external_id,
            occurred_at=order.occurred_at,
            applied=applied,
            decision=decision,
        )
        return OrderResult(
            order_id=applied.order_id,
            external_id=order.external_id,
            member_no=applied.member.member_no,
            total_minor=decision.total_minor,
            eligible_minor=decision.earning.eligible_minor,
            points_paid=decision.points_paid,
            points_earned=decision.earning.points,
            growth_earned=decision.growth_earned,
            points_balance=0,
            growth_balance=0,
            occurred_at=order.occurred_at,
            wallet_principal_paid=decision.wallet_principal,
            wallet_bonus_paid=decision.wallet_bonus,
            tier_discount_minor=decided.plan.tier_minor,
            coupon_discount_minor=decided.plan.discount_minor - decided.plan.tier_minor,
            coupons=decided.coupon_discounts(),
            line_discounts=decided.discounts(order.lines),
        )

    def finish(session: Session, applied: Applied, result: OrderResult) -> OrderResult:
        posted = replace(
            result,
            points_balance=applied.balance(session, Asset.points),
            growth_balance=applied.balance(session, Asset.growth),
            tier=applied.tier,
        )
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.order_posted,
            member_id=applied.member.id,
            occurred_at=order.occurred_at,
            payload=_posted(posted, order),
        )
        return posted

    _applied, posted = pipeline.apply(
        session,
        program=program,
        kind=EventKind.order,
        key=keys.order(order.external_id),
        member=member,
        timing=timing,
        at=order.occurred_at,
        post=post,
        finish=finish,
    )
    return posted


def _new_order_store(session: Session, *, program: ProgramConfig, order: OrderIn) -> int | None:
    """The id of the order's store (None: online); refuse an inactive store or a used id."""
    store_id = None
    if order.store_code:
        store_id = store_service.active_store_id(
            session, program_id=program.id, code=order.store_code
        )
    if repository.order_exists(session, program_id=program.id, external_id=order.external_id):
        raise OrderExists(external_id=order.external_id)
    return store_id


def _check_sale(order: OrderIn) -> None:
    """Refuse what a sale to no member cannot have: coupons, points or wallet payments."""
    if order.coupons:
        raise NonMemberCoupon()
    if any(payment.method == "points" or payment.points for payment in order.payments):
        raise NonMemberPointsPayment()
    if any(payment.method == "wallet" for payment in order.payments):
        raise NonMemberWalletPayment()


def _post_sale(
    session: Session, *, program: ProgramConfig, order: OrderIn, payments: list[rules.Priced]
) -> OrderResult:
    """Record a non-member sale: its lines and payments, earning nothing, told as an event.

    No member, so no member lock and no member event: no ledger posting, no tier reaction.
    Its ``order.posted`` event has ``member_no`` null (a subscriber finds no member on it).
    The lines' total must be paid in full (no tier discount, no coupons) and is checked
    against the program's order bounds as a member's order is.
    """
    store_id = _new_order_store(session, program=program, order=order)
    lines_minor = sum(line.amount_minor for line in order.lines)
    rules.check_paid(payments, lines_minor=lines_minor, discount_minor=0)
    rules.check_amount(lines_minor, most_minor=program.earning.max_order_minor)
    cart = coupon_rules.Cart(
        lines=tuple(
            coupon_rules.Line(number, line.sku, line.category, line.quantity, line.amount_minor)
            for number, line in enumerate(order.lines, start=1)
        ),
        at=order.occurred_at,
        store_code=order.store_code,
        channel=order.channel,
    )
    decided = Checkout(coupon_use.plan(cart, []), [], lines_minor)
    nothing = [0] * len(order.lines)
    decision = rules.OrderDecision(
        total_minor=lines_minor,
        points_paid=0,
        wallet_principal=0,
        wallet_bonus=0,
        earning=rules.Earning(0, 0, 0, nothing, nothing),
        spend_growth=0,
        order_growth=0,
    )
    order_id = _insert_order(
        session,
        program_id=program.id,
        order=order,
        member_id=None,
        store_id=store_id,
        payments=payments,
        decision=decision,
        decided=decided,
    )
    result = OrderResult(
        order_id=order_id,
        external_id=order.external_id,
        member_no=None,
        total_minor=lines_minor,
        eligible_minor=0,
        points_paid=0,
        points_earned=0,
        growth_earned=0,
        points_balance=0,
        growth_balance=0,
        occurred_at=order.occurred_at,
    )
    events.emit(
        session,
        program_id=program.id,
        type=events.EventType.order_posted,
        member_id=None,
        occurred_at=order.occurred_at,
        payload=_posted(result, order),
    )
    return result


def _posted(result: OrderResult, order: OrderIn) -> dict[str, object]:
    """The ``order.posted`` payload: the order as the API answers it."""
    tier = result.tier
    payload: dict[str, object] = {
        "order_id": str(result.order_id),
        "external_id": result.external_id,
        "member_no": result.member_no,
        "store_code": order.store_code,
        "channel": order.channel,
        "total_amount": format_money(result.total_minor),
        "eligible_amount": format_money(result.eligible_minor),
        "points_paid": result.points_paid,
        "points_earned": result.points_earned,
        "growth_earned": result.growth_earned,
        "points_balance": result.points_balance,
        "growth_balance": result.growth_balance,
        "wallet_principal_paid": format_money(result.wallet_principal_paid),
        "wallet_bonus_paid": format_money(result.wallet_bonus_paid),
        "tier": tier.code if tier else None,
        "upgraded": bool(tier and tier.upgraded),
    }
    if result.discount_minor:
        payload["discounts"] = discounts_payload(result)
    return payload


def discounts_payload(result: OrderResult) -> dict[str, object]:
    """An order's discounts as its event tells them (only an order that had some)."""
    return {
        "lines_amount": format_money(result.lines_minor),
        "tier_discount": format_money(result.tier_discount_minor),
        "coupon_discount": format_money(result.coupon_discount_minor),
        "due_amount": format_money(result.total_minor),
        "coupons": [
            {
                "code": coupon.code,
                "discount": format_money(coupon.discount_minor),
                "lines": {str(n): format_money(off) for n, off in coupon.by_line.items()},
            }
            for coupon in result.coupons
        ],
        "lines": [
            {
                "line_no": line.line_no,
                "amount": format_money(line.amount_minor),
                "tier_discount": format_money(line.tier_discount_minor),
                "coupon_discount": format_money(line.coupon_discount_minor),
                "due": format_money(line.due_minor),
            }
            for line in result.line_discounts
        ],
    }


def orders_awarded_in_period(
    session: Session,
    *,
    member_id: int,
    transaction_kind: str,
    kind: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
) -> int:
    """Return the growth the member's orders earned within [start, end), net of refunds.

    Counts the growth of order transactions of ``transaction_kind`` (and reason ``kind``):
    ``earn`` for what spending earned, ``behaviour``/``order`` for the growth of an order
    being an order. Each order counts less the share of its growth its refunds took back,
    so a refunded order no longer uses up a cap; as for a behaviour's cap
    (:func:`memberkit.growth.service.awarded_in_period`), nothing dated after ``now`` plus
    the clock tolerance counts.
    """
    rows = queries.order_growth_credited(
        session,
        member_id=member_id,
        transaction_kind=transaction_kind,
        reason=kind,
        start=start,
        until=min(end, now + FUTURE_TOLERANCE),
    )
    net = sum(
        (
            Fraction(int(growth) * (earned - reversed_), earned) if earned else Fraction(0)
            for growth, earned, reversed_ in rows
        ),
        Fraction(0),
    )
    return int(net)


def spend_growth_so_far(
    session: Session, *, program: ProgramConfig, member_id: int, at: datetime, now: datetime
) -> int:
    """Return the spend growth the member's orders earned in the spend cap's period of ``at``.

    Net of refunds (a refunded order no longer uses up the cap); 0 when the program caps
    nothing. The caller holds the member's lock.
    """
    cap = program.spend_cap
    if cap is None:
        return 0
    start, end = cap.period(at, program.tz)
    return orders_awarded_in_period(
        session,
        member_id=member_id,
        transaction_kind=TransactionKind.earn,
        kind=None,
        start=start,
        end=end,
        now=now,
    )


def order_growth_so_far(
    session: Session, *, program: ProgramConfig, member_id: int, at: datetime, now: datetime
) -> int:
    """Return the growth the member's orders earned for being orders in the period of ``at``.

    Net of refunds; 0 when orders earn no growth of their own. The caller holds the lock.
    """
    behaviour = program.behaviours.get(ORDER)
    if behaviour is None:
        return 0
    start, end = behaviour.period(at, program.tz)
    return orders_awarded_in_period(
        session,
        member_id=member_id,
        transaction_kind=TransactionKind.behaviour,
        kind=ORDER,
        start=start,
        end=end,
        now=now,
    )


def facts(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    tier_code: str,
    now: datetime,
    lines: list[rules.EarnLine],
    store_code: str | None,
    at: datetime,
    payments: Sequence[rules.Priced],
    discount_minor: int = 0,
) -> rules.OrderFacts:
    """Read what deciding an order needs: the member's wallet and the growth caps so far.

    ``lines`` are at what is left to pay for them (after the tier discount and coupons).
    """
    held: dict[str, int] = {}
    if any(payment.method == "wallet" and payment.amount_minor for payment in payments):
        held = member_balances(session, member_id=member_id)
    return rules.OrderFacts(
        lines=lines,
        payments=payments,
        store_code=store_code,
        day=at.astimezone(program.tz).date(),
        tier_multiplier=program.ladder.tier(tier_code).multiplier,
        wallet_principal=held.get(Asset.wallet_principal, 0),
        wallet_bonus=held.get(Asset.wallet_bonus, 0),
        spend_cap=program.spend_cap,
        spend_growth_so_far=spend_growth_so_far(
            session, program=program, member_id=member_id, at=at, now=now
        ),
        order_behaviour=program.behaviours.get(ORDER),
        order_growth_so_far=order_growth_so_far(
            session, program=program, member_id=member_id, at=at, now=now
        ),
        discount_minor=discount_minor,
    )


def _insert_order(
    session: Session,
    *,
    program_id: int,
    order: OrderIn,
    member_id: int | None,
    store_id: int | None,
    payments: list[rules.Priced],
    decision: rules.OrderDecision,
    decided: Checkout,
) -> int:
    """Write the order, its lines and its payments; return the order's id.

    A line's ``amount_minor`` is what is left to pay for it, its tier and coupon discounts
    beside it.
    """
    earning = decision.earning
    plan = decided.plan
    coupon_off = decided.coupon_by_line()
    return repository.insert_order(
        session,
        order={
            "program_id": program_id,
            "external_id": order.external_id,
            "member_id": member_id,
            "store_id": store_id,
            "channel": order.channel,
            "occurred_at": order.occurred_at,
            "total_minor": decision.total_minor,
            "eligible_minor": earning.eligible_minor,
            "points_paid": decision.points_paid,
            "points_earned": earning.points,
            "growth_earned": decision.growth_earned,
            "refunded_minor": 0,
            "points_reversed": 0,
            "growth_reversed": 0,
            "points_returned": 0,
            "wallet_principal_paid": decision.wallet_principal,
            "wallet_bonus_paid": decision.wallet_bonus,
            "wallet_principal_returned": 0,
            "wallet_bonus_returned": 0,
            "tier_discount_minor": plan.tier_minor,
            "coupon_discount_minor": plan.discount_minor - plan.tier_minor,
            "tier_taken_back_minor": 0,
            "coupon_taken_back_minor": 0,
            "created_at": utcnow(),
        },
        lines=[
            {
                "line_no": number,
                "sku": line.sku,
                "name": line.name,
                "category": line.category,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
                "amount_minor": plan.due_by_line[number],
                "earn_weight": earning.line_points_weight[number - 1],
                "growth_weight": earning.line_growth_weight[number - 1],
                "refunded_quantity": 0,
                "refunded_minor": 0,
                "tier_discount_minor": plan.tier_by_line[number],
                "coupon_discount_minor": coupon_off.get(number, 0),
            }
            for number, line in enumerate(order.lines, start=1)
        ],
        payments=[
            {"method": p.method, "amount_minor": p.amount_minor, "points": p.points}
            for p in payments
        ],
    )


def post_earning(
    session: Session,
    *,
    external_id: str,
    occurred_at: datetime,
    applied: Applied,
    decision: rules.OrderDecision,
) -> None:
    """Post the order's payment, its earning and its own growth to the ledger.

    Under the member's lock (``applied``), dated ``occurred_at``: the points lot expires as
    the validity policy says from that date, and one already past it by ``applied.now`` goes
    in and expires at once. Keyed by the order's ``external_id``. Live orders and earning
    history (:mod:`memberkit.order.history`) post through here.
    """
    program, member_id, now = applied.program, applied.member.id, applied.now
    if decision.points_paid or decision.wallet_paid:
        burn = Posting.open(
            session,
            program_id=program.id,
            member_id=member_id,
            kind=TransactionKind.redeem,
            key=keys.order_payment(external_id),
            occurred_at=occurred_at,
            order_id=applied.order_id,
        )
        burn.debit_points(decision.points_paid, counterpart=AccountCode.redeemed, as_of=now)
        if decision.wallet_paid:
            burn.change_wallet(
                -decision.wallet_principal, -decision.wallet_bonus, counterpart=AccountCode.redeemed
            )
        burn.finish()
        applied.balances.update(burn.balances)
    if decision.earning.points or decision.spend_growth:
        gain = Posting.open(
            session,
            program_id=program.id,
            member_id=member_id,
            kind=TransactionKind.earn,
            key=keys.order_earning(external_id),
            occurred_at=occurred_at,
            order_id=applied.order_id,
        )
        expires_at = program.validity.expires_at(occurred_at, program.tz)
        # A back-dated order's points may be past their validity already: they go into the
        # lot and expire at once, paying off no debt (on time, they would have expired too).
        lapsed = expires_at is not None and expires_at <= now
        gain.credit_points(
            decision.earning.points,
            counterpart=AccountCode.issued,
            earned_at=occurred_at,
            expires_at=expires_at,
            settle=not lapsed,
        )
        gain.change_growth(decision.spend_growth, counterpart=AccountCode.issued)
        gain.finish()
        applied.balances.update(gain.balances)
        if lapsed and expire_due(session, program_id=program.id, member_id=member_id, as_of=now):
            applied.balances.pop(Asset.points, None)
    if decision.order_growth:
        # Growth for the order itself: its own posting, so the behaviour's cap can count it;
        # refunds take it back with the spend growth (both are the order's growth_earned).
        bonus = growth_service.post_award(
            session,
            program_id=program.id,
            member_id=member_id,
            kind=ORDER,
            growth=decision.order_growth,
            key=keys.order_behaviour(external_id),
            at=occurred_at,
            order_id=applied.order_id,
        )
        applied.balances.update(bonus.balances)


def post_refund(
    session: Session, *, program: ProgramConfig, refund: RefundIn, timing: Timing | None = None
) -> RefundResult:
    """Refund all or part of an order.

    Amounts are of what the customer paid for the lines (after the tier discount and
    coupons); the refund takes back the same share of the discounts and gives a coupon back
    once all it took off is back (:func:`memberkit.coupon.use.take_back`).
    Earned points and growth are taken back in proportion; points and stored value that paid
    for the refunded part are returned (stored value as the same split of principal and
    bonus). Shares are cumulative over the order's refunds, so refunding an order in pieces
    takes back exactly what refunding it at once would.

    Validity travels with points: returned points go back with the expiry of the lots they
    were spent from (the lot spent last first), and those past it are expired at once. The
    claw-back takes from the order's own lot first; what had expired from it is not taken a
    second time (``points_already_expired``); only what the member spent is taken from other
    lots, and what they cannot cover becomes a debt later earnings pay off.
    """
    timing = timing or Timing.live()
    if refund.amount_minor is not None and refund.lines:
        raise InvalidRefund(problem=Text(_("give either amount or lines, not both")))
    if refund.occurred_at is not None:
        timing.check(refund.occurred_at, backdate_days=program.policies.backdate_days)
    if repository.refund_exists(session, program_id=program.id, external_id=refund.external_id):
        # The business key, for repeats that come after their idempotency record was purged.
        raise RefundExists(external_id=refund.external_id)
    found, member_id = repository.order_member(
        session, program_id=program.id, external_id=refund.order_external_id
    )
    if not found:
        raise OrderNotFound(external_id=refund.order_external_id)
    if member_id is None:
        return _refund_sale(session, program=program, refund=refund, now=timing.now)
    _applied, refunded = pipeline.apply(
        session,
        program=program,
        kind=EventKind.refund,
        key=keys.refund(refund.external_id),
        member=member_id,
        timing=timing,
        at=timing.now,
        post=lambda session, applied: _refund(session, applied, refund=refund),
        requires=Requires.any,
        finish=_finish_refund,
    )
    return refunded


def _finish_refund(session: Session, applied: Applied, result: RefundResult) -> RefundResult:
    """The refund with the member's balances and tier after it; told as ``order.refunded``."""
    points_balance = applied.balance(session, Asset.points)
    refunded = replace(
        result,
        points_balance=points_balance,
        growth_balance=applied.balance(session, Asset.growth),
        points_debt=max(0, -points_balance),
        tier=applied.tier,
    )
    events.emit(
        session,
        program_id=applied.program.id,
        type=events.EventType.order_refunded,
        member_id=applied.member.id,
        occurred_at=applied.at,
        payload=_refunded(refunded),
    )
    return refunded


def _refunded(result: RefundResult) -> dict[str, object]:
    """The ``order.refunded`` payload: the refund as the API answers it."""
    return {
        "refund_id": str(result.refund_id),
        "external_id": result.external_id,
        "order_external_id": result.order_external_id,
        "member_no": result.member_no,
        "amount": format_money(result.amount_minor),
        "points_reversed": result.points_reversed,
        "growth_reversed": result.growth_reversed,
        "points_returned": result.points_returned,
        "points_already_expired": result.points_already_expired,
        "points_balance": result.points_balance,
        "growth_balance": result.growth_balance,
        "points_debt": result.points_debt,
        "wallet_principal_returned": format_money(result.wallet_principal_returned),
        "wallet_bonus_returned": format_money(result.wallet_bonus_returned),
        "tier": result.tier.code if result.tier else None,
        "reverted": bool(result.tier and result.tier.reverted),
        **(
            {
                "tier_discount_taken_back": format_money(result.tier_taken_back_minor),
                "coupon_discount_taken_back": format_money(result.coupon_taken_back_minor),
                "coupons_returned": list(result.coupons_returned),
            }
            if result.tier_taken_back_minor or result.coupon_taken_back_minor
            else {}
        ),
    }


def _refund_sale(
    session: Session, *, program: ProgramConfig, refund: RefundIn, now: datetime
) -> RefundResult:
    """Refund a non-member sale: nothing to claw back, the order's refunded totals kept.

    No member lock: the order's row is locked instead, so two refunds of one sale are
    serialized. Told as ``order.refunded`` with ``member_no`` null.
    """
    order, lines = repository.load_for_refund(
        session, program_id=program.id, external_id=refund.order_external_id, lock=True
    )
    result, occurred_at = _record_refund(
        session, program=program, now=now, member=None, refund=refund, order=order, lines=lines
    )
    events.emit(
        session,
        program_id=program.id,
        type=events.EventType.order_refunded,
        member_id=None,
        occurred_at=occurred_at,
        payload=_refunded(result),
    )
    return result


def _refund(session: Session, applied: Applied, *, refund: RefundIn) -> RefundResult:
    """Post a refund of the locked member's order (its balances and tier are read after)."""
    program = applied.program
    order, lines = repository.load_for_refund(
        session, program_id=program.id, external_id=refund.order_external_id
    )
    applied.order_id = order.id
    result, applied.at = _record_refund(
        session,
        program=program,
        now=applied.now,
        member=applied.member,
        refund=refund,
        order=order,
        lines=lines,
    )
    return result


def _record_refund(
    session: Session,
    *,
    program: ProgramConfig,
    now: datetime,
    member: MemberKey | None,
    refund: RefundIn,
    order: Order,
    lines: list[OrderLine],
) -> tuple[RefundResult, datetime]:
    """Write a refund of ``order`` and post what it takes back; return it and its date.

    ``member`` is the order's member, locked; None for a non-member sale, whose refund
    posts nothing to the ledger (it earned and was paid with nothing of a member's).
    """
    if order.source == OrderSource.history.value:
        raise HistoryOrderRefund(order=order.external_id)
    occurred_at = refund.occurred_at or max(now, as_utc(order.occurred_at))
    if occurred_at < order.occurred_at:
        raise RefundBeforeOrder(refund_at=iso(occurred_at), order_at=iso(order.occurred_at))
    states = [
        rules.LineState(
            line.quantity, line.amount_minor, line.refunded_quantity, line.refunded_minor
        )
        for line in lines
    ]
    try:
        if refund.lines:
            unknown = set(refund.lines) - {line.line_no for line in lines}
            if unknown:
                raise InvalidRefund(
                    problem=Text(_("the order has no line {line}"), line=min(unknown))
                )
            parts = rules.refund_by_lines(
                states, {number - 1: quantity for number, quantity in refund.lines.items()}
            )
        elif refund.amount_minor is not None:
            if refund.amount_minor <= 0:
                raise InvalidRefund(problem=Text(_("amount must be more than zero")))
            parts = rules.refund_by_amount(states, refund.amount_minor)
        else:
            parts = rules.refund_by_lines(
                states, {i: s.quantity - s.refunded_quantity for i, s in enumerate(states)}
            )
    except rules.RulesError as exc:
        raise RefundExceedsOrder(problem=exc.text) from exc
    amount = sum(part for _quantity, part in parts)
    # Nothing to give back: refused, except returning free items (lines of amount 0).
    free_items_only = all(
        line.amount_minor == 0
        for line, (quantity, _part) in zip(lines, parts, strict=True)
        if quantity
    ) and any(quantity for quantity, _part in parts)
    if amount == 0 and not free_items_only:
        raise RefundExceedsOrder(problem=Text(_("nothing is left to refund")))
    tier_back, coupons_back = _discounts_back(
        session, order=order, lines=lines, parts=parts, at=occurred_at
    )
    shares = []
    for line, (quantity, part) in zip(lines, parts, strict=True):
        line.refunded_quantity += quantity
        line.refunded_minor += part
        shares.append(
            Fraction(line.refunded_minor, line.amount_minor)
            if line.amount_minor
            else Fraction(line.refunded_quantity, line.quantity)
        )
    refunded_total = order.refunded_minor + amount
    points_reversed = rules.reversal(
        order.points_earned, order.points_reversed, [line.earn_weight for line in lines], shares
    )
    growth_reversed = rules.reversal(
        order.growth_earned, order.growth_reversed, [line.growth_weight for line in lines], shares
    )
    paid_share = Fraction(refunded_total, order.total_minor) if order.total_minor else Fraction(1)
    points_returned = rules.reversal(order.points_paid, order.points_returned, [1], [paid_share])
    principal_back, bonus_back = returned_so_far(
        order.wallet_principal_paid, order.wallet_bonus_paid, paid_share
    )
    principal_returned = principal_back - order.wallet_principal_returned
    bonus_returned = bonus_back - order.wallet_bonus_returned
    # The order's own points: the lot its earning created and the lots they were returned to.
    own = ledger_repository.earned_line(
        session, program_id=program.id, key=keys.order_earning(order.external_id)
    )
    points_taken, already_expired = claw_back(
        points_reversed,
        lot_remaining=own.remaining,
        lot_expired=own.expired - order.points_already_expired,
    )
    returned_to = _returned_to(
        session,
        program_id=program.id,
        order=order,
        returned=order.points_returned,
        points=points_returned,
    )
    refund_id = repository.record_refund(
        session,
        order_id=order.id,
        totals={
            "refunded_minor": refunded_total,
            "points_reversed": order.points_reversed + points_reversed,
            "growth_reversed": order.growth_reversed + growth_reversed,
            "points_returned": order.points_returned + points_returned,
            "points_already_expired": order.points_already_expired + already_expired,
            "wallet_principal_returned": order.wallet_principal_returned + principal_returned,
            "wallet_bonus_returned": order.wallet_bonus_returned + bonus_returned,
            "tier_taken_back_minor": order.tier_taken_back_minor + tier_back,
            "coupon_taken_back_minor": order.coupon_taken_back_minor + coupons_back.minor,
        },
        refund={
            "program_id": program.id,
            "external_id": refund.external_id,
            "amount_minor": amount,
            "points_reversed": points_reversed,
            "growth_reversed": growth_reversed,
            "points_returned": points_returned,
            "points_already_expired": already_expired,
            "wallet_principal_returned": principal_returned,
            "wallet_bonus_returned": bonus_returned,
            "tier_taken_back_minor": tier_back,
            "coupon_taken_back_minor": coupons_back.minor,
            "occurred_at": occurred_at,
        },
        lines=[
            {"order_line_id": line.id, "quantity": q, "amount_minor": p}
            for line, (q, p) in zip(lines, parts, strict=True)
            if q or p
        ],
    )
    if member is not None:
        post_take_back(
            session,
            program_id=program.id,
            member_id=member.id,
            key=keys.refund(refund.external_id),
            occurred_at=occurred_at,
            now=now,
            order_id=order.id,
            refund_id=refund_id,
            points=points_taken,
            growth=growth_reversed,
            own_lots=own.lot_ids,
            returned_to=returned_to,
            wallet=(principal_returned, bonus_returned),
        )
    result = RefundResult(
        refund_id=refund_id,
        external_id=refund.external_id,
        order_external_id=order.external_id,
        member_no=member.member_no if member is not None else None,
        amount_minor=amount,
        points_reversed=points_taken,
        growth_reversed=growth_reversed,
        points_returned=points_returned,
        points_balance=0,
        growth_balance=0,
        points_debt=0,
        wallet_principal_returned=principal_returned,
        wallet_bonus_returned=bonus_returned,
        points_already_expired=already_expired,
        tier_taken_back_minor=tier_back,
        coupon_taken_back_minor=coupons_back.minor,
        coupons_returned=coupons_back.returned,
    )
    return result, occurred_at


def post_take_back(
    session: Session,
    *,
    program_id: int,
    member_id: int,
    key: str,
    occurred_at: datetime,
    now: datetime,
    order_id: int,
    refund_id: int,
    points: int,
    growth: int,
    own_lots: frozenset[int],
    returned_to: Sequence[tuple[ledger_repository.SpentFrom, int]] = (),
    wallet: tuple[int, int] = (0, 0),
) -> None:
    """Post what a refund takes back, under the member's lock; expire what is due after it.

    ``points`` come from the order's own lots (``own_lots``) first, then from the others or
    as a debt; ``growth`` is taken back; the points and stored value its payment took are
    returned to the lots they came from (``returned_to``, keeping their expiry). Keyed
    ``key``. Live refunds and history refunds (:mod:`memberkit.order.history`) post here.
    """
    posting = Posting.open(
        session,
        program_id=program_id,
        member_id=member_id,
        kind=TransactionKind.refund,
        key=key,
        occurred_at=occurred_at,
        order_id=order_id,
        refund_id=refund_id,
    )
    posting.debit_points(
        points,
        counterpart=AccountCode.issued,
        as_of=now,
        allow_debt=True,
        first_lots=own_lots,
    )
    posting.change_growth(-growth, counterpart=AccountCode.issued)
    for source, back in returned_to:
        # Past its lot's expiry by now: into the lot, then expired below; it pays no debt.
        lapsed = source.expires_at is not None and source.expires_at <= now
        posting.credit_points(
            back,
            counterpart=AccountCode.redeemed,
            earned_at=source.earned_at,
            expires_at=source.expires_at,
            settle=not lapsed,
            source_lot_id=source.line_id,
        )
    posting.change_wallet(wallet[0], wallet[1], counterpart=AccountCode.redeemed)
    posting.finish()
    expire_due(session, program_id=program_id, member_id=member_id, as_of=now)


_NOTHING_BACK = coupon_use.TakenBack(0, {}, ())


def _discounts_back(
    session: Session,
    *,
    order: Order,
    lines: Sequence[OrderLine],
    parts: Sequence[tuple[int, int]],
    at: datetime,
) -> tuple[int, coupon_use.TakenBack]:
    """Take back the tier's and each coupon's share of a refund of ``parts`` of ``lines``.

    Read before the lines' refunded counters move. A line is measured by what the customer
    paid for it, or by its units when the discounts made it free; the shares are on running
    totals (:func:`memberkit.coupon.rules.taken_back`), so refunds in pieces take back what
    one refund would. A coupon all taken back is given back when its template says so.
    """
    if not (order.tier_discount_minor or order.coupon_discount_minor):
        return 0, _NOTHING_BACK
    refunding = [
        coupon_use.LineRefund(line.line_no, line.amount_minor, line.refunded_minor, part)
        if line.amount_minor
        else coupon_use.LineRefund(line.line_no, line.quantity, line.refunded_quantity, quantity)
        for line, (quantity, part) in zip(lines, parts, strict=True)
    ]
    tier_back = coupon_use.taken_back(
        {line.line_no: line.tier_discount_minor for line in lines}, refunding
    )
    coupons_back = (
        coupon_use.take_back(session, order_id=order.id, at=at, lines=refunding)
        if order.coupon_discount_minor
        else _NOTHING_BACK
    )
    return tier_back, coupons_back


def _returned_to(
    session: Session, *, program_id: int, order: Order, returned: int, points: int
) -> list[tuple[ledger_repository.SpentFrom, int]]:
    """Return the lots ``points`` returned points go back to, after ``returned`` earlier."""
    if points <= 0:
        return []
    pay = ledger_repository.transaction_id_by_key(
        session, program_id=program_id, key=keys.order_payment(order.external_id)
    )
    spent = ledger_repository.spent_from(session, transaction_id=pay) if pay is not None else []
    return give_back([(lot, lot.points) for lot in spent], returned=returned, points=points)


@dataclass(frozen=True)
class RefundView:
    """One refund of an order, as :func:`get_order` lists it."""

    refund_id: int
    external_id: str
    amount_minor: int
    points_reversed: int
    growth_reversed: int
    points_returned: int
    wallet_principal_returned: int
    wallet_bonus_returned: int
    occurred_at: datetime
    points_already_expired: int = 0


@dataclass(frozen=True)
class OrderView:
    """An order with the member's balances and tier now, and what its refunds gave back.

    The totals are the sums of ``refunds`` (kept on the order under the member's lock).
    ``points_reversed`` is what was taken back; ``points_already_expired`` what the refunds'
    share of the earned points found expired already, and so did not take again.
    """

    order: OrderResult
    #: None for a non-member sale.
    tier: TierOutcome | None
    status: rules.OrderStatus
    refunded_minor: int
    points_reversed: int
    growth_reversed: int
    points_returned: int
    wallet_principal_returned: int
    wallet_bonus_returned: int
    refunds: list[RefundView]
    points_already_expired: int = 0


def get_order(session: Session, *, program: ProgramConfig, external_id: str) -> OrderView:
    """Return an order by external id, what its refunds gave back, the member's balances now."""
    row = queries.order_with_member(session, program_id=program.id, external_id=external_id)
    if row is None:
        raise OrderNotFound(external_id=external_id)
    order, member_no, tier_code = row
    balances: dict[str, int] = {}
    if order.member_id is not None:
        balances = member_balances(session, member_id=order.member_id)
        balances[Asset.points] = balances.get(Asset.points, 0) - ledger_repository.due_points(
            session, member_id=order.member_id, as_of=utcnow()
        )
    refunds = [
        RefundView(
            refund.id,
            refund.external_id,
            refund.amount_minor,
            refund.points_reversed - refund.points_already_expired,
            refund.growth_reversed,
            refund.points_returned,
            refund.wallet_principal_returned,
            refund.wallet_bonus_returned,
            refund.occurred_at,
            refund.points_already_expired,
        )
        for refund in queries.refunds_of(session, order_id=order.id)
    ]
    tier = None if tier_code is None else TierOutcome.of(program.ladder.tier(tier_code))
    coupons, line_discounts = _stored_discounts(session, order)
    return OrderView(
        order=OrderResult(
            order_id=order.id,
            external_id=order.external_id,
            member_no=member_no,
            total_minor=order.total_minor,
            eligible_minor=order.eligible_minor,
            points_paid=order.points_paid,
            points_earned=order.points_earned,
            growth_earned=order.growth_earned,
            points_balance=balances.get(Asset.points, 0),
            growth_balance=balances.get(Asset.growth, 0),
            occurred_at=order.occurred_at,
            tier=tier,
            wallet_principal_paid=order.wallet_principal_paid,
            wallet_bonus_paid=order.wallet_bonus_paid,
            tier_discount_minor=order.tier_discount_minor,
            coupon_discount_minor=order.coupon_discount_minor,
            coupons=coupons,
            line_discounts=line_discounts,
        ),
        tier=tier,
        status=rules.order_status(
            total_minor=order.total_minor,
            refunded_minor=order.refunded_minor,
            units_left=queries.units_left(session, order_id=order.id),
            refunds=len(refunds),
        ),
        refunded_minor=order.refunded_minor,
        points_reversed=order.points_reversed - order.points_already_expired,
        points_already_expired=order.points_already_expired,
        growth_reversed=order.growth_reversed,
        points_returned=order.points_returned,
        wallet_principal_returned=order.wallet_principal_returned,
        wallet_bonus_returned=order.wallet_bonus_returned,
        refunds=refunds,
    )


def _stored_discounts(
    session: Session, order: Order
) -> tuple[tuple[CouponDiscount, ...], tuple[LineDiscount, ...]]:
    """An order's coupons and line discounts as stored (none when nothing came off)."""
    if not (order.tier_discount_minor or order.coupon_discount_minor):
        return (), ()
    coupons = tuple(
        CouponDiscount(code, name, discount, {int(n): off for n, off in (by_line or {}).items()})
        for code, name, discount, by_line in queries.coupon_uses(session, order_id=order.id)
    )
    lines = tuple(
        LineDiscount(number, paid + tier + coupon, tier, coupon, paid)
        for number, paid, tier, coupon in queries.line_discounts(session, order_id=order.id)
    )
    return coupons, lines


def require_order_store(
    session: Session,
    *,
    program_id: int,
    external_id: str,
    store_code: str | None,
    cross_store_returns: bool = False,
) -> None:
    """Refuse a caller bound to ``store_code`` acting on an order it may not.

    See :func:`memberkit.auth.service.require_order_access`; a missing order is left to the caller.
    """
    if store_code is None:
        return
    found, order_store = queries.store_of_order(
        session, program_id=program_id, external_id=external_id
    )
    if found:
        require_order_access(
            bound=store_code,
            order_store=order_store,
            external_id=external_id,
            cross_store_returns=cross_store_returns,
        )
