"""Recharges of stored value (储值充值) with their bonus, and refunds of them (储值退款)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class RechargeMethod(StrEnum):
    """How money is paid into a wallet: never points, coupons or the wallet itself."""

    cash = "cash"
    card = "card"
    wechat = "wechat"
    alipay = "alipay"


class WalletRecharge(Base):
    """One recharge, at most one per external id; its ledger posting moves the money."""

    __tablename__ = "wallet_recharges"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        Index("ix_wallet_recharges_member_at", "member_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    method: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    bonus_minor: Mapped[int] = mapped_column(BigInteger)
    #: What refunds paid back of the principal, and took back of the bonus, so far.
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bonus_forfeited_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WalletRefund(Base):
    """One refund of a recharge (退款), at most one per external id; its posting moves it."""

    __tablename__ = "wallet_refunds"
    __table_args__ = (
        UniqueConstraint("program_id", "external_id"),
        Index("ix_wallet_refunds_recharge", "recharge_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    external_id: Mapped[str] = mapped_column(String(100))
    recharge_id: Mapped[int] = mapped_column(ForeignKey("wallet_recharges.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    method: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    bonus_forfeited_minor: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
