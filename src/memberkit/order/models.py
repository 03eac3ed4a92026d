"""Orders (订单) and refunds (退货). Money is stored in integer minor units (分)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class PaymentMethod(StrEnum):
    """How an order was paid."""

    cash = "cash"
    card = "card"
    wechat = "wechat"
    alipay = "alipay"
    points = "points"
    wallet = "wallet"
    #: A voucher settled outside Memberkit (a partner's, a mall's): paid, but earning nothing.
    #: Memberkit's own coupons are named by the order's ``coupons`` and come off the lines.
    coupon = "coupon"


class OrderSource(StrEnum):
    """Where an order or a refund came from: posted live, or imported from an old system."""

    live = "live"
    history = "history"


class Order(Base):
    """A purchase; refund counters are caches of its refunds, kept under the member lock.

    ``member_id`` is None for a sale to no member (a non-member sale): stored and counted,
    earning nothing. ``source`` tells live orders from history imported (``OrderSource``).
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        # The dashboard's days of sales, the whole chain's and a store's.
        Index("ix_orders_program_occurred", "program_id", "occurred_at"),
        Index("ix_orders_store_occurred", "store_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    channel: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    eligible_minor: Mapped[int] = mapped_column(BigInteger)
    points_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    points_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    growth_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    points_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    growth_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    points_returned: Mapped[int] = mapped_column(BigInteger, default=0)
    # Of points_reversed, what had expired from the order's own lot and so was not taken again.
    points_already_expired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Stored value that paid (minor units), split principal/bonus, and what refunds returned.
    wallet_principal_paid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    wallet_bonus_paid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    wallet_principal_returned: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )
    wallet_bonus_returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What the tier discount and the coupons took off the lines (``total_minor`` is what was
    # left to pay), and what refunds took back of them.
    tier_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupon_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tier_taken_back_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupon_taken_back_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    source: Mapped[str] = mapped_column(String(16), default=OrderSource.live, server_default="live")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    """One line of an order; ``earn_weight`` is its share of the earned points (micro-points).

    ``amount_minor`` is what the customer pays for the line: quantity × unit price, less the
    till's own discount, the tier discount and the coupons' (the last two kept beside it).
    """

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    earn_weight: Mapped[int] = mapped_column(BigInteger, default=0)
    growth_weight: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tier_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupon_discount_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OrderPayment(Base):
    """One payment of an order; ``points`` is set for payments in points."""

    __tablename__ = "order_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger, default=0)


class Refund(Base):
    """A full or partial reversal of one order."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("program_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    points_reversed: Mapped[int] = mapped_column(BigInteger)
    growth_reversed: Mapped[int] = mapped_column(BigInteger)
    points_returned: Mapped[int] = mapped_column(BigInteger)
    # Of points_reversed, what had already expired from the order's lot: not taken again.
    points_already_expired: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    wallet_principal_returned: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )
    wallet_bonus_returned: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What this refund took back of the order's tier discount and coupons' discount.
    tier_taken_back_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    coupon_taken_back_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default=OrderSource.live, server_default="live")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefundLine(Base):
    """How much of one order line a refund returned."""

    __tablename__ = "refund_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
