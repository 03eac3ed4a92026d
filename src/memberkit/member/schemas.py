"""Request models of members, shared by the API and the CSV importer (one set of checks)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from memberkit.kit.schemas import ONE_LINE, Input, LocalTime, MoneyOut
from memberkit.member.models import Channel, MemberStatus

if TYPE_CHECKING:
    from memberkit.member.service import TierOutcome

Gender = Annotated[str, Field(pattern="^(male|female|unknown)$")]
Tag = Annotated[str, Field(min_length=1, max_length=32), ONE_LINE]
Name = Annotated[str, Field(max_length=50), ONE_LINE]
Email = Annotated[str, Field(max_length=254), ONE_LINE]


class MemberIn(Input):
    """A registration."""

    phone: str = Field(max_length=20, examples=["13800138000"])
    name: Name | None = None
    gender: Gender | None = None
    birthday: date | None = None
    email: Email | None = None
    store_code: str | None = Field(default=None, max_length=32)
    channel: Channel = Channel.store
    referrer_member_no: str | None = Field(default=None, max_length=20)
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class MemberPatch(Input):
    """Changes to a member; only the fields present change. ``status`` needs an admin key."""

    phone: str | None = Field(default=None, max_length=20)
    name: Name | None = None
    gender: Gender | None = None
    birthday: date | None = None
    email: Email | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: MemberStatus | None = None


class MemberOut(BaseModel):
    """A member as the API shows one.

    Admin keys see the phone and birthday in full; pos and read keys see them masked
    (``138****8000``, ``****-05-01``).
    """

    member_no: str
    status: MemberStatus
    phone: str = Field(examples=["13800138000", "138****8000"])
    name: str | None
    gender: str | None
    birthday: str | None = Field(
        description="YYYY-MM-DD; ****-MM-DD for pos and read keys", examples=["1990-05-01"]
    )
    email: str | None
    store_code: str | None
    channel: str
    referrer_member_no: str | None
    tags: list[str]
    points_balance: int
    growth_balance: int
    wallet_balance: MoneyOut
    created_at: LocalTime


class QrTokenOut(BaseModel):
    """A fresh card QR token."""

    member_no: str
    qr_token: str
    expires_at: LocalTime


class MemberSearch(Input):
    """Exactly one of ``phone`` or ``qr_token``."""

    phone: str | None = Field(default=None, max_length=20, examples=["13800138000"])
    qr_token: str | None = Field(default=None, max_length=100)


class TierOut(BaseModel):
    """A member's tier; ``upgraded`` is true when the request that returned it moved it up."""

    level: int
    code: str
    name: str
    upgraded: bool = False

    @classmethod
    def of(cls, outcome: TierOutcome) -> TierOut:
        """Build from the service's outcome."""
        return cls(
            level=outcome.level, code=outcome.code, name=outcome.name, upgraded=outcome.upgraded
        )


class RefundTierOut(BaseModel):
    """A member's tier after a refund; ``reverted`` when the refund moved it back down.

    That is when the refunded order had given the member a tier they no longer qualify for.
    """

    level: int
    code: str
    name: str
    reverted: bool = False

    @classmethod
    def of(cls, outcome: TierOutcome) -> RefundTierOut:
        """Build from the service's outcome."""
        return cls(
            level=outcome.level, code=outcome.code, name=outcome.name, reverted=outcome.reverted
        )
