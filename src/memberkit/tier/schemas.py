"""Request and response models of the tier API (pydantic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from memberkit.kit.schemas import LocalTime
from memberkit.tier import service
from memberkit.tier.settings import LadderSettings

TierCode = Annotated[str, Field(min_length=1, max_length=32)]


class TierOut(BaseModel):
    """A member's tier; ``upgraded`` is true when the request that returned it moved it up."""

    level: int
    code: str
    name: str
    upgraded: bool = False

    @classmethod
    def of(cls, outcome: service.TierOutcome) -> TierOut:
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
    def of(cls, outcome: service.TierOutcome) -> RefundTierOut:
        """Build from the service's outcome."""
        return cls(
            level=outcome.level, code=outcome.code, name=outcome.name, reverted=outcome.reverted
        )


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
