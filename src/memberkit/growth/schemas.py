"""Request and response models of the growth API (pydantic)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from memberkit.kit.schemas import ClientTime, Input, PlainText
from memberkit.member.schemas import TierOut


class EventIn(Input):
    """A behaviour: ``type`` is one of the program's behaviours (see ``GET /api/v1/growth``)."""

    type: str = Field(min_length=1, max_length=32, examples=["sign_in"])
    external_id: PlainText = Field(min_length=1, max_length=100)
    occurred_at: ClientTime
    payload: dict[str, Any] = Field(default_factory=dict)


class EventOut(BaseModel):
    """The growth an event earned; ``capped`` when the period's cap withheld some of it."""

    member_no: str
    type: str
    growth_awarded: int
    capped: bool
    growth_balance: int
    tier: TierOut
