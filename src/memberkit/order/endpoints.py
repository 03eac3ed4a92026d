"""REST endpoints of orders and refunds: what POS integrators code against."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from memberkit.api.context import PosContext, ReadContext
from memberkit.kit import keys
from memberkit.kit.i18n import TextError, _
from memberkit.kit.schemas import ClientTime, Input, LocalTime, Money, MoneyOut
from memberkit.order import service
from memberkit.order.models import Channel, PaymentMethod
from memberkit.order.rules import OrderStatus
from memberkit.tier.endpoints import RefundTierOut, TierOut

router = APIRouter(prefix="/api/v1", tags=["orders"])

Text = Annotated[str, Field(max_length=200)]
#: The most lines one order holds, and units one line (or one refund of it) counts.
MAX_LINES = 500
MAX_QUANTITY = 1_000_000


class MemberNaming(Input):
    """Exactly one of member_no, phone or qr_token names the member."""

    member_no: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=20)
    qr_token: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one_identifier(self) -> MemberNaming:
        given = [self.member_no, self.phone, self.qr_token]
        if sum(value is not None for value in given) != 1:
            raise TextError(_("name the member by exactly one of member_no, phone, qr_token"))
        return self

    def ref(self) -> service.MemberRef:
        """Return the plain reference the service takes."""
        return service.MemberRef(self.member_no, self.phone, self.qr_token)


class LineIn(Input):
    """An order line. ``amount`` = quantity × unit_price − discount."""

    sku: str = Field(min_length=1, max_length=64)
    name: Text = ""
    category: str = Field(default="", max_length=64)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    unit_price: Money
    discount: Money = 0
    amount: Money


class PaymentIn(Input):
    """A payment. In points: ``{"method": "points", "points": 500}``; the amount is derived."""

    method: PaymentMethod
    amount: Money | None = None
    points: int | None = Field(default=None, ge=1, le=10**12)


class OrderIn(MemberNaming):
    """An order posted by a till or an online channel."""

    external_id: str = Field(min_length=1, max_length=100)
    store_code: str | None = Field(default=None, max_length=32)
    channel: Channel = Channel.store
    occurred_at: ClientTime
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    payments: list[PaymentIn] = Field(min_length=1, max_length=20)


class OrderOut(BaseModel):
    """What an order earned and cost in points, and the member's balances after it."""

    order_id: str
    external_id: str
    member_no: str
    total_amount: MoneyOut
    eligible_amount: MoneyOut
    points_paid: int
    points_earned: int
    growth_earned: int
    points_balance: int
    growth_balance: int
    occurred_at: LocalTime
    tier: TierOut | None = None
    wallet_principal_paid: MoneyOut = 0
    wallet_bonus_paid: MoneyOut = 0


class OrderRefundOut(BaseModel):
    """One refund of an order: what it took back and returned."""

    refund_id: str
    external_id: str
    amount: MoneyOut
    points_reversed: int
    growth_reversed: int
    points_returned: int
    wallet_principal_returned: MoneyOut
    wallet_bonus_returned: MoneyOut
    occurred_at: LocalTime
    points_already_expired: int = 0


class OrderDetailOut(OrderOut):
    """An order as read back, with what its refunds took back and returned so far.

    The totals are the sums of ``refunds``; balances and tier are the member's now.
    ``points_reversed`` is what refunds took back; ``points_already_expired`` the part of
    their share of the earned points that had expired and so was not taken again.
    """

    tier: TierOut
    status: OrderStatus
    refunded_amount: MoneyOut
    points_reversed: int
    growth_reversed: int
    points_returned: int
    wallet_principal_returned: MoneyOut
    wallet_bonus_returned: MoneyOut
    refunds: list[OrderRefundOut]
    points_already_expired: int = 0


class RefundLineIn(Input):
    """Units of one order line returned."""

    line_no: int = Field(ge=1, le=MAX_LINES)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class RefundIn(Input):
    """A refund: give ``lines`` or ``amount``; with neither, all that is left is refunded."""

    external_id: str = Field(min_length=1, max_length=100)
    order_external_id: str = Field(min_length=1, max_length=100)
    amount: Money | None = None
    lines: list[RefundLineIn] | None = Field(default=None, min_length=1, max_length=MAX_LINES)
    occurred_at: ClientTime | None = None


class RefundOut(BaseModel):
    """What a refund took back and returned; ``points_debt`` > 0 when the balance went negative.

    ``points_reversed`` is what was taken from the member; ``points_already_expired`` the part
    of the refund's share of the order's earned points that had expired meanwhile and so was
    not taken a second time. Returned points (``points_returned``) keep the expiry of the lots
    they paid with; any past it are expired at once.
    """

    refund_id: str
    external_id: str
    order_external_id: str
    member_no: str
    amount: MoneyOut
    points_reversed: int
    growth_reversed: int
    points_returned: int
    points_balance: int
    growth_balance: int
    points_debt: int
    wallet_principal_returned: MoneyOut = 0
    wallet_bonus_returned: MoneyOut = 0
    points_already_expired: int = 0
    status: Literal["refunded"] = "refunded"
    tier: RefundTierOut | None = Field(
        default=None,
        description="The member's tier after the refund; ``reverted`` when the refund undid "
        "the upgrade the order gave them.",
    )


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
    """
    store_code = context.principal.store_for(body.store_code)
    order = service.OrderIn(
        external_id=body.external_id,
        member=body.ref(),
        store_code=store_code,
        channel=body.channel,
        occurred_at=body.occurred_at,
        lines=[
            service.LineIn(
                line.sku,
                line.name,
                line.category,
                line.quantity,
                line.unit_price,
                line.amount,
                line.discount,
            )
            for line in body.lines
        ],
        payments=[service.PaymentIn(p.method, p.amount, p.points) for p in body.payments],
    )

    def action(session: Session) -> OrderOut:
        return _order_out(service.post_order(session, program=context.program, order=order))

    return context.idempotent(key=keys.order(body.external_id), payload=body, action=action)


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
        tier=TierOut.of(view.tier),
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
            tier=RefundTierOut.of(result.tier) if result.tier is not None else None,
        )

    return context.idempotent(key=keys.refund(body.external_id), payload=body, action=action)
