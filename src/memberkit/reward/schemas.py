"""Request and response models of the catalog API (pydantic)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from memberkit.benefit.rules import Period
from memberkit.kit.schemas import ONE_LINE, ClientTime, Input, LocalTime, Money, MoneyOut, PlainText
from memberkit.reward import rules
from memberkit.reward.models import Reward
from memberkit.reward.queries import RedemptionRow
from memberkit.reward.rules import RedemptionStatus, RewardKind

CODE = r"^[a-z0-9_]{1,32}$"
#: A reward's picture: an image's web address (the catalog keeps no uploaded files).
PICTURE = r"^https?://[^\s\"'<>]{1,490}$"
TierCode = Annotated[str, Field(min_length=1, max_length=32)]


class RewardIn(Input):
    """A reward of the points catalog (积分商城)."""

    code: str = Field(pattern=CODE, examples=["tumbler"])
    kind: RewardKind
    name: PlainText = Field(min_length=1, max_length=50, examples=["保温杯"])
    description: PlainText = Field(default="", max_length=500)
    picture_url: str = Field(default="", max_length=500, pattern=rf"{PICTURE}|^$")
    points: int = Field(ge=1, le=rules.MAX_POINTS, examples=[2000])
    cash: Money = Field(default=0, description="The cash part (积分+现金), paid at pickup.")
    stock: int | None = Field(default=None, ge=0, le=10_000_000)
    limit_count: int | None = Field(default=None, ge=1, le=10_000)
    limit_period: Period = Period.once
    available_from: ClientTime | None = None
    available_until: ClientTime | None = None
    tiers: list[TierCode] = Field(default_factory=list, max_length=50)
    active: bool = True
    coupon_template: str | None = Field(
        default=None,
        max_length=32,
        description="For kind coupon: the code of the coupon template its coupons come from.",
    )


class RewardPatch(Input):
    """What may change of a reward; a field sent as null clears it (``stock``: unlimited)."""

    name: Annotated[str, Field(min_length=1, max_length=50), ONE_LINE] | None = None
    description: Annotated[str, Field(max_length=500), ONE_LINE] | None = None
    picture_url: str | None = Field(default=None, max_length=500, pattern=rf"{PICTURE}|^$")
    points: int | None = Field(default=None, ge=1, le=rules.MAX_POINTS)
    cash: Money | None = None
    stock: int | None = Field(default=None, ge=0, le=10_000_000)
    limit_count: int | None = Field(default=None, ge=1, le=10_000)
    limit_period: Period | None = None
    available_from: ClientTime | None = None
    available_until: ClientTime | None = None
    tiers: list[TierCode] | None = Field(default=None, max_length=50)
    active: bool | None = None

    def changes(self) -> dict[str, object]:
        """The fields sent, by the service's names (``cash`` is ``cash_minor``).

        Only ``stock``, ``limit_count`` and the window may be cleared with null; a null for
        any other field leaves it as it is.
        """
        nullable = {"stock", "limit_count", "available_from", "available_until"}
        found: dict[str, object] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if value is None and name not in nullable:
                continue
            found["cash_minor" if name == "cash" else name] = value
        return found


class RewardOut(BaseModel):
    """A reward as the catalog shows it."""

    code: str
    kind: RewardKind
    name: str
    description: str
    picture_url: str
    points: int
    cash: MoneyOut
    stock: int | None
    redeemed: int
    limit_count: int | None
    limit_period: Period
    available_from: LocalTime | None
    available_until: LocalTime | None
    tiers: list[str]
    active: bool

    @classmethod
    def of(cls, reward: Reward) -> RewardOut:
        """Build from the stored reward."""
        return cls(
            code=reward.code,
            kind=RewardKind(reward.kind),
            name=reward.name,
            description=reward.description,
            picture_url=reward.picture_url,
            points=reward.points,
            cash=reward.cash_minor,
            stock=reward.stock,
            redeemed=reward.redeemed,
            limit_count=reward.limit_count,
            limit_period=Period(reward.limit_period),
            available_from=reward.available_from,
            available_until=reward.available_until,
            tiers=list(reward.tiers or ()),
            active=reward.active,
        )


class RedeemIn(Input):
    """A redemption of a reward by the member, made now; ``external_id`` makes it unique."""

    reward: str = Field(pattern=CODE, examples=["tumbler"])
    external_id: PlainText = Field(min_length=1, max_length=100)
    quantity: int = Field(default=1, ge=1, le=rules.MAX_QUANTITY)
    store_code: str | None = Field(default=None, max_length=32)


class FulfilIn(Input):
    """The store the reward is picked up at (a store-bound key: its own)."""

    store_code: str | None = Field(default=None, max_length=32)


class CancelIn(Input):
    """Why a redemption is cancelled."""

    reason: PlainText = Field(min_length=1, max_length=200)


class RedemptionOut(BaseModel):
    """A redemption and where it stands."""

    external_id: str
    member_no: str
    reward: str
    reward_name: str
    kind: RewardKind
    quantity: int
    points: int
    cash: MoneyOut
    status: RedemptionStatus
    store_code: str | None
    redeemed_at: LocalTime
    fulfilled_at: LocalTime | None
    pickup_store_code: str | None
    cancelled_at: LocalTime | None
    cancel_reason: str
    #: A coupon reward's coupons, issued at once (its redemption is then fulfilled).
    coupons: list[str] = []

    @classmethod
    def of(cls, row: RedemptionRow) -> RedemptionOut:
        """Build from the service's row."""
        return cls(**cls.fields_of(row))

    @staticmethod
    def fields_of(row: RedemptionRow) -> dict[str, Any]:
        """The response's fields from the service's row."""
        return dict(
            external_id=row.external_id,
            member_no=row.member_no,
            reward=row.reward_code,
            reward_name=row.reward_name,
            kind=RewardKind(row.kind),
            quantity=row.quantity,
            points=row.points,
            cash=row.cash_minor,
            status=RedemptionStatus(row.status),
            store_code=row.store_code,
            redeemed_at=row.redeemed_at,
            fulfilled_at=row.fulfilled_at,
            pickup_store_code=row.fulfilled_store_code,
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            coupons=list(row.coupons),
        )


class RedeemedOut(RedemptionOut):
    """A redemption made or cancelled, and the member's points balance after it."""

    points_balance: int

    @classmethod
    def made(cls, row: RedemptionRow, points_balance: int) -> RedeemedOut:
        """Build from the service's row and the balance after."""
        return cls(**cls.fields_of(row), points_balance=points_balance)
