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
    """A member's wallet, with their recharges in all."""

    member_no: str
    wallet: WalletOut
    recharged: MoneyOut
    bonus_received: MoneyOut
    recharges: int
