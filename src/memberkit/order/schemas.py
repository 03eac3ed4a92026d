"""Request and response models of the order API (pydantic)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from memberkit.kit.i18n import TextError, _
from memberkit.kit.schemas import (
    ONE_LINE,
    ClientTime,
    Input,
    LocalTime,
    Money,
    MoneyOut,
    PlainText,
)
from memberkit.member.models import Channel
from memberkit.member.schemas import RefundTierOut, TierOut
from memberkit.member.service import MemberRef
from memberkit.order.models import PaymentMethod
from memberkit.order.rules import OrderStatus

Text = Annotated[str, Field(max_length=200), ONE_LINE]
#: A coupon's code as typed, scanned or imported.
CouponCode = Annotated[str, Field(min_length=1, max_length=40), ONE_LINE]
#: The most coupons one order names.
MAX_COUPONS = 10
#: The most lines one order holds, and units one line (or one refund of it) counts.
MAX_LINES = 500
MAX_QUANTITY = 1_000_000


class BuyerNaming(Input):
    """At most one of member_no, phone or qr_token names the member; none: a non-member sale."""

    member_no: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=20)
    qr_token: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _at_most_one_identifier(self) -> BuyerNaming:
        if self._named() > 1:
            raise TextError(_("name the member by exactly one of member_no, phone, qr_token"))
        return self

    def _named(self) -> int:
        return sum(value is not None for value in (self.member_no, self.phone, self.qr_token))

    def ref(self) -> MemberRef | None:
        """Return the plain reference the service takes, or None for a non-member sale."""
        if not self._named():
            return None
        return MemberRef(self.member_no, self.phone, self.qr_token)


class MemberNaming(BuyerNaming):
    """Exactly one of member_no, phone or qr_token names the member."""

    @model_validator(mode="after")
    def _one_identifier(self) -> MemberNaming:
        if self._named() != 1:
            raise TextError(_("name the member by exactly one of member_no, phone, qr_token"))
        return self

    def ref(self) -> MemberRef:
        """Return the plain reference the service takes."""
        return MemberRef(self.member_no, self.phone, self.qr_token)


class LineIn(Input):
    """An order line. ``amount`` = quantity × unit_price − discount."""

    sku: PlainText = Field(min_length=1, max_length=64)
    name: Text = ""
    category: PlainText = Field(default="", max_length=64)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    unit_price: Money
    discount: Money = 0
    amount: Money


class PaymentIn(Input):
    """A payment. In points: ``{"method": "points", "points": 500}``; the amount is derived."""

    method: PaymentMethod
    amount: Money | None = None
    points: int | None = Field(default=None, ge=1, le=10**12)


class OrderIn(BuyerNaming):
    """An order posted by a till or an online channel; naming no member, a non-member sale."""

    external_id: PlainText = Field(min_length=1, max_length=100)
    store_code: str | None = Field(default=None, max_length=32)
    channel: Channel = Channel.store
    occurred_at: ClientTime
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    payments: list[PaymentIn] = Field(min_length=1, max_length=20)
    coupons: list[CouponCode] = Field(
        default_factory=list,
        max_length=MAX_COUPONS,
        description="Codes of the member's coupons to use, as typed or scanned. The tier "
        "discount and the coupons come off the lines; the payments pay what is left (the due).",
    )

    @model_serializer(mode="wrap")
    def _fingerprint(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An order naming no coupon dumps (and so fingerprints) as before coupons existed:
        # a till's retry across the upgrade is still a replay, not a conflict.
        dumped: dict[str, Any] = handler(self)
        if not self.coupons:
            dumped.pop("coupons", None)
        return dumped


class CouponDiscountOut(BaseModel):
    """What one coupon took off, in all and by line number."""

    code: str
    name: str
    discount: MoneyOut
    lines: dict[str, MoneyOut]


class LineDiscountOut(BaseModel):
    """One line's discounts: ``amount`` before them, ``due`` what is left to pay for it."""

    line_no: int
    amount: MoneyOut
    tier_discount: MoneyOut
    coupon_discount: MoneyOut
    due: MoneyOut


class OrderOut(BaseModel):
    """What an order earned and cost in points, and the member's balances after it.

    ``total_amount`` is what was due: ``lines_amount`` less the tier discount and the
    coupons' discount; ``line_discounts`` lists them by line when anything came off.
    """

    order_id: str
    external_id: str
    member_no: str | None = Field(description="None for a sale to no member (non-member sale).")
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
    lines_amount: MoneyOut = 0
    tier_discount: MoneyOut = 0
    coupon_discount: MoneyOut = 0
    due_amount: MoneyOut = 0
    coupons: list[CouponDiscountOut] = Field(default_factory=list)
    line_discounts: list[LineDiscountOut] = Field(default_factory=list)


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

    tier: TierOut | None
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

    external_id: PlainText = Field(min_length=1, max_length=100)
    order_external_id: PlainText = Field(min_length=1, max_length=100)
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
    member_no: str | None = Field(description="None for a refund of a non-member sale.")
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
    tier_discount_taken_back: MoneyOut = 0
    coupon_discount_taken_back: MoneyOut = 0
    coupons_returned: list[str] = Field(
        default_factory=list,
        description="Coupons given back to the member: all they took off is refunded, their "
        "template returns coupons on refund and they are still valid.",
    )
    status: Literal["refunded"] = "refunded"
    tier: RefundTierOut | None = Field(
        default=None,
        description="The member's tier after the refund; ``reverted`` when the refund undid "
        "the upgrade the order gave them.",
    )


class CheckoutIn(MemberNaming):
    """A cart to preview: nothing is posted or written.

    ``coupons`` omitted (or null): the best combination of the member's coupons is chosen;
    a list: those coupons (an empty list: none). ``points`` and ``wallet``: what the member
    means to pay with points and stored value; the rest is money.
    """

    store_code: str | None = Field(default=None, max_length=32)
    channel: Channel = Channel.store
    occurred_at: ClientTime | None = None
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    coupons: list[CouponCode] | None = Field(default=None, max_length=MAX_COUPONS)
    points: int = Field(default=0, ge=0, le=10**12)
    wallet: Money = 0


class OfferedCouponOut(BaseModel):
    """One of the member's coupons: whether it fits the cart alone and is in the plan."""

    code: str
    name: str
    kind: str
    valid_until: LocalTime
    fits: bool
    chosen: bool
    reason_code: str | None = Field(
        default=None, description="Why it does not fit (a stable code), when it does not."
    )
    reason: str | None = Field(default=None, description="The same, in the caller's language.")


class CheckoutOut(BaseModel):
    """What the cart would take off, cost and earn if posted as an order now.

    ``due_amount`` is what the payments of the order must add up to; ``left_to_pay`` what is
    left for money after ``points`` and ``wallet``. ``best``: the coupons were chosen as the
    best combination (none were named).
    """

    member_no: str
    tier: str
    tier_rate_bp: int
    best: bool
    lines_amount: MoneyOut
    tier_discount: MoneyOut
    coupon_discount: MoneyOut
    due_amount: MoneyOut
    coupons: list[CouponDiscountOut]
    line_discounts: list[LineDiscountOut]
    offered: list[OfferedCouponOut]
    points_balance: int
    most_points_payable: int
    points: int
    points_value: MoneyOut
    wallet_available: MoneyOut
    wallet: MoneyOut
    left_to_pay: MoneyOut
    eligible_amount: MoneyOut
    points_earned: int
    growth_earned: int


#: The most rows one ``POST /api/v1/orders/import`` takes.
MAX_IMPORT_ROWS = 10_000
_Cell = Annotated[str, Field(max_length=100)]


class HistoryRowIn(Input):
    """One past order or refund, as the history import reads it (every value as text)."""

    type: Literal["order", "refund"] = "order"
    external_id: _Cell
    order_external_id: _Cell | None = None
    occurred_at: _Cell = Field(examples=["2019-05-01 14:30"])
    member_no: _Cell | None = None
    external_ref: _Cell | None = None
    phone: _Cell | None = None
    store_code: _Cell | None = None
    channel: _Cell | None = None
    amount: _Cell = Field(examples=["128.50"])
    sku: _Cell | None = None
    category: _Cell | None = None
    qty: _Cell | None = None


class HistoryImportIn(Input):
    """Rows of history to import, and whether members not found are enrolled (by phone)."""

    wide_lists = frozenset({"rows"})

    rows: list[HistoryRowIn] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)
    create_members: bool = False


class RowErrorOut(BaseModel):
    """A row that was not imported: its position in ``rows`` (from 1) and why."""

    row: int
    message: str


class HistoryImportOut(BaseModel):
    """What an import did: counts, and the rows refused."""

    orders: int
    refunds: int
    already_present: int
    members_created: int
    non_member_orders: int
    #: What the imported orders earned and the imported refunds took back; 0 unless the
    #: ``history`` section's ``earn`` is growth or all.
    points_earned: int = 0
    growth_earned: int = 0
    points_reversed: int = 0
    growth_reversed: int = 0
    errors: list[RowErrorOut]
