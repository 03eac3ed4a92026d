"""Request and response models of the wallet API (pydantic)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from memberkit.kit.schemas import ClientTime, Input, LocalTime, Money, MoneyOut, PlainText
from memberkit.member.schemas import TierOut
from memberkit.wallet import service
from memberkit.wallet.models import RechargeMethod


class RechargeIn(Input):
    """Money paid into a member's wallet at a till or online; ``external_id`` makes it unique."""

    external_id: PlainText = Field(min_length=1, max_length=100)
    amount: Money = Field(examples=["500.00"])
    method: RechargeMethod
    store_code: str | None = Field(default=None, max_length=32)
    occurred_at: ClientTime


class WalletOut(BaseModel):
    """A wallet: principal (本金) and bonus (赠送金) kept apart, and what may be spent."""

    principal: MoneyOut
    bonus: MoneyOut
    total: MoneyOut

    @classmethod
    def of(cls, wallet: service.WalletBalance) -> WalletOut:
        """Build from the service's balance."""
        return cls(principal=wallet.principal, bonus=wallet.bonus, total=wallet.total)


class RechargeOut(BaseModel):
    """What a recharge added, and the wallet and tier after it."""

    external_id: str
    member_no: str
    amount: MoneyOut
    bonus: MoneyOut
    occurred_at: LocalTime
    wallet: WalletOut
    tier: TierOut


class MemberWalletOut(BaseModel):
    """A member's wallet, with their recharges in all and what refunds paid back of them."""

    member_no: str
    wallet: WalletOut
    recharged: MoneyOut
    bonus_received: MoneyOut
    recharges: int
    refunded: MoneyOut


class RechargeLineOut(BaseModel):
    """A recharge, what refunds paid back and forfeited of it, and what is refundable now."""

    external_id: str
    method: str
    store_code: str | None
    amount: MoneyOut
    bonus: MoneyOut
    refunded: MoneyOut
    bonus_forfeited: MoneyOut
    refundable: MoneyOut
    occurred_at: LocalTime


class WalletRefundIn(Input):
    """Paying back unspent principal of a recharge; ``external_id`` makes the refund unique.

    Without ``amount``, all that is refundable is paid back; without ``method``, the way the
    recharge was paid.
    """

    external_id: PlainText = Field(min_length=1, max_length=100)
    amount: Money | None = Field(default=None, examples=["200.00"])
    method: RechargeMethod | None = None
    reason: PlainText = Field(default="", max_length=200)
    store_code: str | None = Field(default=None, max_length=32)
    occurred_at: ClientTime


class WalletRefundOut(BaseModel):
    """What a refund of a recharge paid back and forfeited, and the wallet after it."""

    external_id: str
    recharge_external_id: str
    member_no: str
    amount: MoneyOut
    bonus_forfeited: MoneyOut
    method: str
    occurred_at: LocalTime
    wallet: WalletOut
