"""Request and response models of the tier API (pydantic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from memberkit.kit.schemas import Input, LocalTime, Money, Page, PlainText, QueryDate
from memberkit.member.schemas import RefundTierOut as RefundTierOut
from memberkit.member.schemas import TierOut as TierOut
from memberkit.tier.settings import LadderSettings

TierCode = Annotated[str, Field(min_length=1, max_length=32)]


class LadderIn(LadderSettings):
    """A tier ladder, lowest tier first, and where members of dropped tiers go."""

    moves: dict[TierCode, TierCode] = Field(
        default_factory=dict,
        max_length=10,
        description="Where members of tiers the new ladder drops or renames go: old code to "
        "a code of the new ladder. Not stored with the ladder.",
        examples=[{"gold": "silver"}],
    )


class TierChangeOut(BaseModel):
    """One move between tiers (``note`` and ``actor`` for grants by hand)."""

    from_tier: str
    to_tier: str
    reason: str
    at: LocalTime
    note: str | None = None
    actor: str | None = None


class NoticeOut(BaseModel):
    """A grace notice: the review at ``review_at`` would move the member down.

    Judged at ``recorded_at``: the member goes to ``expected_tier`` unless they meet the
    tier's rules by the review.
    """

    review_at: LocalTime
    expected_tier: TierOut
    recorded_at: LocalTime


class MemberTierOut(BaseModel):
    """A member's tier, when it is next reviewed, and how it got there."""

    member_no: str
    tier: TierOut
    since: LocalTime | None
    review_at: LocalTime | None
    notice: NoticeOut | None = None
    history: list[TierChangeOut]


class SimulationIn(Input):
    """Proposed thresholds: growth per tier above the first; optionally a spend alternative."""

    growth_thresholds: list[Annotated[int, Field(ge=0, le=10**12)]] = Field(
        min_length=1, max_length=9, examples=[[800, 4000, 15000]]
    )
    spend_thresholds: list[Money] | None = Field(
        default=None, max_length=9, examples=[["0.00", "2000.00", "0.00"]]
    )
    spend_within_days: int = Field(default=30, ge=1, le=730)


class BucketOut(BaseModel):
    """Members whose value lies in [low, high)."""

    low: int
    high: int | None
    members: int


class TierCountOut(BaseModel):
    """Members in one tier today and under the proposal."""

    code: str
    name: str
    today: int
    proposed: int


class SimulationOut(BaseModel):
    """The what-if: distributions (growth; spend in minor units) and the moves it implies."""

    members: int
    growth_histogram: list[BucketOut]
    spend_histogram: list[BucketOut]
    spend_within_days: int
    tiers: list[TierCountOut]
    up: int
    down: int
    unchanged: int


class NoticeListingOut(BaseModel):
    """A member at risk at their next review, with their tier now."""

    member_no: str
    tier: TierOut
    notice: NoticeOut


class NoticeListOut(BaseModel):
    """Grace notices of reviews not yet run, soonest first."""

    items: list[NoticeListingOut]
    page: Page


class GrantIn(Input):
    """Put a member in a tier by hand until a date (inclusive), with the reason for it.

    A grant below the member's tier needs ``allow_down``.
    """

    tier: TierCode = Field(examples=["gold"])
    until: QueryDate
    reason: PlainText = Field(min_length=1, max_length=200)
    allow_down: bool = Field(default=False, strict=True)
