"""The double-entry ledger of points, growth value and stored value.

Entries are immutable and every transaction's entries sum to zero per asset. ``Account.balance``
and ``PointsLot.remaining`` are caches kept in the same database transaction as the entries
that change them; ``memberkit ledger check`` proves them against the entries.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class Asset(StrEnum):
    """What a ledger counts: points, growth value, and stored value (minor units) in two parts."""

    points = "points"
    growth = "growth"
    wallet_principal = "wallet_principal"  # 本金: the money a member paid into the wallet
    wallet_bonus = "wallet_bonus"  # 赠送金: what the merchant added to a recharge


class AccountCode(StrEnum):
    """The role of an account; ``member`` accounts belong to one member, the rest are system's."""

    member = "member"
    issued = "issued"  # counterpart of everything earned
    redeemed = "redeemed"  # where spent points go
    expired = "expired"  # where expired points go
    adjusted = "adjusted"  # counterpart of manual adjustments
    decayed = "decayed"  # where decayed growth goes
    recharged = "recharged"  # counterpart of stored value paid in (and bonuses given)


class TransactionKind(StrEnum):
    """Why a ledger transaction happened."""

    earn = "earn"
    redeem = "redeem"
    refund = "refund"
    adjust = "adjust"
    expire = "expire"
    behaviour = "behaviour"  # growth for a behaviour event (sign-in, review, share, …)
    decay = "decay"  # growth taken from a member who earned none for a while
    recharge = "recharge"  # stored value paid into a member's wallet
    wallet_refund = "wallet_refund"  # unspent principal of a recharge paid back, bonus forfeited
    reward = "reward"  # points burnt for a reward of the catalog (积分兑换)
    reward_cancel = "reward_cancel"  # a cancelled redemption's points given back to their lots


class Account(Base):
    """A balance of one asset: a member's, or a system account of the program."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("program_id", "member_id", "asset", "code"),
        # A member's balances are read and changed by member, asset and code (no program).
        Index("ix_accounts_member", "member_id", "asset", "code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    asset: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(16))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerTransaction(Base):
    """One balanced posting; at most one per idempotency key in a program."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (UniqueConstraint("program_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(100))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """An immutable signed amount on one account; ``balance_after`` is set on member accounts."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    asset: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int | None] = mapped_column(BigInteger)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_lots.id"), index=True)


class PointsLot(Base):
    """Points credited together with one expiry; spending consumes lots earliest-expiry first.

    ``remaining`` equals the sum of the member-account entries that name the lot.
    """

    __tablename__ = "points_lots"
    __table_args__ = (
        Index("ix_points_lots_member_open", "member_id", "expires_at"),
        Index("ix_points_lots_expiry", "expires_at", "remaining"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Points returned by a refund continue the lot they were spent from (the first lot of
    # that line, never a continuation): a claw-back of its order counts them as its own.
    source_lot_id: Mapped[int | None] = mapped_column(ForeignKey("points_lots.id"))
