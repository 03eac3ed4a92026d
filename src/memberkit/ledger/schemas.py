"""Request and response models of the ledger API (pydantic)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from memberkit.kit.schemas import Input, LocalTime, MoneyOut, Page, PlainText
from memberkit.ledger.models import Asset, TransactionKind


class LotOut(BaseModel):
    """Points held in one lot."""

    remaining: int
    earned_at: LocalTime
    expires_at: LocalTime | None


class PointsOut(BaseModel):
    """A member's points."""

    member_no: str
    balance: int
    debt: int
    expiring_within_days: int
    expiring_points: int
    lots: list[LotOut]


class StatementLine(BaseModel):
    """One transaction in a member's history, with the balance after it."""

    transaction_id: str
    kind: TransactionKind
    amount: int
    balance_after: int
    reason: str | None
    actor: str | None
    order_id: str | None
    refund_id: str | None
    occurred_at: LocalTime
    expires_at: LocalTime | None


class Statement(BaseModel):
    """A page of a member's ledger history, newest first."""

    member_no: str
    asset: Asset
    items: list[StatementLine]
    page: Page


class AdjustmentIn(Input):
    """A manual credit (positive) or debit (negative) with the reason for it."""

    points: int = Field(ge=-(10**9), le=10**9)
    reason: PlainText = Field(min_length=1, max_length=200)


class AdjustmentOut(BaseModel):
    """The result of an adjustment."""

    transaction_id: str
    member_no: str
    points: int
    points_balance: int


class ExpiringMember(BaseModel):
    """A member whose points expire soon."""

    member_no: str
    points: int
    first_expiry: LocalTime


class ExpiringList(BaseModel):
    """Members with points expiring within a horizon, soonest first."""

    within_days: int
    members: int
    points: int
    items: list[ExpiringMember]
    page: Page


class LiabilityOut(BaseModel):
    """What the program owes the members of one store (or in total) at the report's moment."""

    store_code: str | None
    points: int
    points_value: MoneyOut
    points_debt: int
    expiring: dict[str, int] = Field(description='points expiring within "30", "60", "90" days')
    wallet_principal: MoneyOut
    wallet_bonus: MoneyOut
    wallet_total: MoneyOut


class LiabilityReport(BaseModel):
    """The liability at the end of a day (in the program's timezone), by home store and total."""

    on: date
    at: LocalTime
    points_per_currency_unit: int
    total: LiabilityOut
    stores: list[LiabilityOut]
