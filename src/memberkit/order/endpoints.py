"""REST endpoints of orders and refunds: what POS integrators code against."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import PosContext, ReadContext
from memberkit.coupon.use import UNFIT_MESSAGES
from memberkit.kit import keys
from memberkit.kit.i18n import negotiate, translate
from memberkit.kit.time import Timing, utcnow
from memberkit.member.schemas import RefundTierOut, TierOut
from memberkit.order import checkout, importer, service
from memberkit.order.schemas import (
    CheckoutIn,
    CheckoutOut,
    CouponDiscountOut,
    HistoryImportIn,
    HistoryImportOut,
    LineDiscountOut,
    LineIn,
    OfferedCouponOut,
    OrderDetailOut,
    OrderIn,
    OrderOut,
    OrderRefundOut,
    RefundIn,
    RefundOut,
    RowErrorOut,
)

router = APIRouter(prefix="/api/v1", tags=["orders"])


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses={200: {"description": "A repeat of an order already posted"}},
)
def post_order(body: OrderIn, context: PosContext) -> JSONResponse:
    """Post an order: burn points paying for it, earn points and growth on the rest.

    Idempotent by ``external_id``: the same order again returns the first response with 200; the
    same id with different content is a 409 ``idempotency_conflict``. Too few points for a points
    payment refuses the whole order (409 ``insufficient_points``) and writes nothing, as does too
    little stored value for a ``wallet`` payment (409 ``insufficient_wallet``). A wallet payment
    takes principal and bonus in proportion to the wallet; the bonus part earns no points.

    Naming no member (no ``member_no``, ``phone`` or ``qr_token``) records a non-member sale:
    stored with its lines and payments, earning nothing, ``member_no`` null. It cannot pay
    with points (422 ``non_member_points_payment``) or stored value (422
    ``non_member_wallet_payment``) nor use coupons (422 ``non_member_coupon``).
    """
    store_code = context.principal.store_for(body.store_code)
    order = service.OrderIn(
        external_id=body.external_id,
        member=body.ref(),
        store_code=store_code,
        channel=body.channel,
        occurred_at=body.occurred_at,
        lines=_lines_in(body.lines),
        payments=[service.PaymentIn(p.method, p.amount, p.points) for p in body.payments],
        coupons=tuple(body.coupons),
    )

    def action(session: Session) -> OrderOut:
        return _order_out(service.post_order(session, program=context.program, order=order))

    return context.idempotent(key=keys.order(body.external_id), payload=body, action=action)


def _lines_in(lines: list[LineIn]) -> list[service.LineIn]:
    return [
        service.LineIn(
            line.sku,
            line.name,
            line.category,
            line.quantity,
            line.unit_price,
            line.amount,
            line.discount,
        )
        for line in lines
    ]


@router.post("/orders/import", response_model=HistoryImportOut)
def import_orders(
    body: HistoryImportIn,
    context: PosContext,
    accept_language: Annotated[str | None, Header()] = None,
) -> HistoryImportOut:
    """Import past orders and refunds from an old system (up to 10,000 rows a request).

    Rows as ``memberkit import orders`` reads a file (see the README's "History import"):
    by default history earns no points or growth; the ``history`` settings section may have
    each member's order earn growth, or points and growth, by the rules on its own date, and
    its refunds take back their share (``points_earned`` … in the answer). Idempotent per
    row by ``external_id``: rows already imported are counted ``already_present`` and
    changed nothing (earning nothing twice). A row that cannot be
    imported is listed in ``errors`` (its position from 1, a message in the request's
    language); the others are imported. A store-bound key imports its own store's rows only
    (a row without ``store_code`` is its store's). Any key that may post orders may import.
    """
    locale = negotiate(accept_language)
    result = importer.import_rows(
        context.database,
        [row.model_dump(exclude_none=True) for row in body.rows],
        create_members=body.create_members,
        bound_store=context.principal.store_code,
        first_line=1,
    )
    return HistoryImportOut(
        orders=result.orders,
        refunds=result.refunds,
        already_present=result.already_present,
        members_created=result.members_created,
        non_member_orders=result.non_member_orders,
        points_earned=result.points_earned,
        growth_earned=result.growth_earned,
        points_reversed=result.points_reversed,
        growth_reversed=result.growth_reversed,
        errors=[
            RowErrorOut(row=line, message=text.translate(locale)) for line, text in result.errors
        ],
    )


@router.post("/checkout/preview", response_model=CheckoutOut)
def preview_checkout(
    body: CheckoutIn,
    context: PosContext,
    accept_language: Annotated[str | None, Header()] = None,
) -> CheckoutOut:
    """Preview a cart: the tier discount, the coupons, what is due and what it would earn.

    Posts nothing and writes nothing (no idempotency key needed). Lists every coupon the
    member holds, whether it fits the cart alone and, if not, why (``reason_code``: the same
    codes an order is refused with, such as ``coupon_expired``). With no ``coupons`` named
    the best combination is chosen; named coupons are refused as the order would refuse
    them (409 with the coupon's code). The same functions decide the order, so posting the
    cart with the plan's coupons and payments adding up to ``due_amount`` does what the
    preview says. A store-bound key previews for its own store only (403 ``store_mismatch``).
    A preview needs a member (422 naming the member is required): a non-member sale has no
    discount, coupon or points to preview, its due is its lines' total.
    """
    store_code = context.principal.store_for(body.store_code)
    locale = negotiate(accept_language)
    now = utcnow()
    at = body.occurred_at or now
    Timing(now).check(at, backdate_days=context.program.policies.backdate_days)
    cart = checkout.CartIn(
        member=body.ref(),
        store_code=store_code,
        channel=body.channel,
        occurred_at=at,
        lines=_lines_in(body.lines),
        coupons=tuple(body.coupons) if body.coupons is not None else None,
        points=body.points,
        wallet_minor=body.wallet,
    )
    with context.database.session_scope(read_only=True, rollback=True) as session:
        seen = checkout.preview(session, program=context.program, cart=cart, now=now)
    return CheckoutOut(
        member_no=seen.member_no,
        tier=seen.tier_code,
        tier_rate_bp=seen.tier_rate_bp,
        best=seen.best,
        **_discounts(seen.order),
        offered=[
            OfferedCouponOut(
                code=offered.code,
                name=offered.name,
                kind=offered.kind,
                valid_until=offered.valid_until,
                fits=offered.unfit is None,
                chosen=offered.chosen,
                reason_code=offered.unfit.value if offered.unfit else None,
                reason=translate(UNFIT_MESSAGES[offered.unfit], locale, code=offered.code)
                if offered.unfit
                else None,
            )
            for offered in seen.offered
        ],
        points_balance=seen.points_balance,
        most_points_payable=seen.most_points_payable,
        points=seen.points,
        points_value=seen.points_value_minor,
        wallet_available=seen.wallet_available,
        wallet=seen.wallet_minor,
        left_to_pay=seen.left_to_pay_minor,
        eligible_amount=seen.order.eligible_minor,
        points_earned=seen.order.points_earned,
        growth_earned=seen.order.growth_earned,
    )


def _order_out(result: service.OrderResult) -> OrderOut:
    return OrderOut(
        order_id=str(result.order_id),
        external_id=result.external_id,
        member_no=result.member_no,
        total_amount=result.total_minor,
        eligible_amount=result.eligible_minor,
        points_paid=result.points_paid,
        points_earned=result.points_earned,
        growth_earned=result.growth_earned,
        points_balance=result.points_balance,
        growth_balance=result.growth_balance,
        occurred_at=result.occurred_at,
        tier=TierOut.of(result.tier) if result.tier is not None else None,
        wallet_principal_paid=result.wallet_principal_paid,
        wallet_bonus_paid=result.wallet_bonus_paid,
        **_discounts(result),
    )


def _discounts(result: service.OrderResult) -> dict[str, Any]:
    """An order's (or a preview's) discounts, as the fields of its answer."""
    return dict(
        lines_amount=result.lines_minor,
        tier_discount=result.tier_discount_minor,
        coupon_discount=result.coupon_discount_minor,
        due_amount=result.total_minor,
        coupons=[
            CouponDiscountOut(
                code=coupon.code,
                name=coupon.name,
                discount=coupon.discount_minor,
                lines={str(number): off for number, off in coupon.by_line.items()},
            )
            for coupon in result.coupons
        ],
        line_discounts=[
            LineDiscountOut(
                line_no=line.line_no,
                amount=line.amount_minor,
                tier_discount=line.tier_discount_minor,
                coupon_discount=line.coupon_discount_minor,
                due=line.due_minor,
            )
            for line in result.line_discounts
        ],
    )


@router.get("/orders/{external_id}", response_model=OrderDetailOut)
def get_order(external_id: str, context: ReadContext) -> OrderDetailOut:
    """Return an order by its external id, what its refunds took back, the member's tier now.

    Shows what the order earned and cost; what refunds took back and returned in all and one
    by one, with ``status`` paid, partially_refunded or refunded; and the member's balances
    and tier now.

    A store-bound key reads its own store's orders, and other stores' orders only when the
    program allows cross-store returns (403 ``store_mismatch``); an online order (no store) is
    read by unbound keys only (403 ``online_order_needs_unbound_key``).
    """
    with context.transaction() as session:
        service.require_order_store(
            session,
            program_id=context.program.id,
            external_id=external_id,
            store_code=context.principal.store_code,
            cross_store_returns=context.program.policies.cross_store_returns,
        )
        view = service.get_order(session, program=context.program, external_id=external_id)
    return OrderDetailOut(
        # The fields as values, not serialized: amounts stay minor units, not "123.00".
        **{name: value for name, value in _order_out(view.order) if name != "tier"},
        tier=TierOut.of(view.tier) if view.tier is not None else None,
        status=view.status,
        refunded_amount=view.refunded_minor,
        points_reversed=view.points_reversed,
        points_already_expired=view.points_already_expired,
        growth_reversed=view.growth_reversed,
        points_returned=view.points_returned,
        wallet_principal_returned=view.wallet_principal_returned,
        wallet_bonus_returned=view.wallet_bonus_returned,
        refunds=[
            OrderRefundOut(
                refund_id=str(refund.refund_id),
                external_id=refund.external_id,
                amount=refund.amount_minor,
                points_reversed=refund.points_reversed,
                growth_reversed=refund.growth_reversed,
                points_returned=refund.points_returned,
                wallet_principal_returned=refund.wallet_principal_returned,
                wallet_bonus_returned=refund.wallet_bonus_returned,
                occurred_at=refund.occurred_at,
                points_already_expired=refund.points_already_expired,
            )
            for refund in view.refunds
        ],
    )


@router.get("/orders", response_model=OrderDetailOut)
def find_order(
    context: ReadContext,
    external_id: Annotated[str, Query(min_length=1, max_length=100)],
) -> OrderDetailOut:
    """Return an order by its external id given as a query parameter.

    For external ids a path cannot carry, such as ``POS/SH001/123``:
    ``GET /api/v1/orders?external_id=POS%2FSH001%2F123``.
    """
    return get_order(external_id, context)


@router.post(
    "/refunds",
    status_code=201,
    response_model=RefundOut,
    responses={200: {"description": "A repeat of a refund already posted"}},
)
def post_refund(body: RefundIn, context: PosContext) -> JSONResponse:
    """Refund all or part of an order (by lines or by amount), idempotent by ``external_id``.

    Earned points and growth are taken back in proportion; points and stored value that paid for
    the refunded part are returned. Taking back points already spent may leave a negative
    balance, reported as ``points_debt``. A store-bound key refunds its own store's orders, other
    stores' orders only when the program allows cross-store returns (403 ``store_mismatch``), and
    never an online order without a store (403 ``online_order_needs_unbound_key``).
    """
    quantities: dict[int, int] = {}
    for line in body.lines or []:
        quantities[line.line_no] = quantities.get(line.line_no, 0) + line.quantity
    refund = service.RefundIn(
        external_id=body.external_id,
        order_external_id=body.order_external_id,
        occurred_at=body.occurred_at,
        amount_minor=body.amount,
        lines=quantities,
    )

    def action(session: Session) -> RefundOut:
        service.require_order_store(
            session,
            program_id=context.program.id,
            external_id=body.order_external_id,
            store_code=context.principal.store_code,
            cross_store_returns=context.program.policies.cross_store_returns,
        )
        result = service.post_refund(session, program=context.program, refund=refund)
        return RefundOut(
            refund_id=str(result.refund_id),
            external_id=result.external_id,
            order_external_id=result.order_external_id,
            member_no=result.member_no,
            amount=result.amount_minor,
            points_reversed=result.points_reversed,
            growth_reversed=result.growth_reversed,
            points_returned=result.points_returned,
            points_balance=result.points_balance,
            growth_balance=result.growth_balance,
            points_debt=result.points_debt,
            wallet_principal_returned=result.wallet_principal_returned,
            wallet_bonus_returned=result.wallet_bonus_returned,
            points_already_expired=result.points_already_expired,
            tier_discount_taken_back=result.tier_taken_back_minor,
            coupon_discount_taken_back=result.coupon_taken_back_minor,
            coupons_returned=list(result.coupons_returned),
            tier=RefundTierOut.of(result.tier) if result.tier is not None else None,
        )

    return context.idempotent(key=keys.refund(body.external_id), payload=body, action=action)
