"""The ladder section: the tiers, lowest first, with their qualification and retention rules."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from memberkit.kit.i18n import _
from memberkit.kit.schemas import Input
from memberkit.kit.sections import Section
from memberkit.tier.rules import (
    DEFAULT_LADDER,
    DEFAULT_NOTICE_DAYS,
    Ladder,
    LadderError,
    parse_ladder,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class LadderSettings(Input):
    """A tier ladder, lowest tier first. See ``GET /api/v1/tiers`` for the format."""

    period: str = Field(default="calendar_year", examples=["calendar_year", "twelve_months"])
    review: str = Field(default="one_down", examples=["one_down", "to_qualified"])
    notice_days: int = Field(
        default=DEFAULT_NOTICE_DAYS,
        strict=True,
        description="Record a grace notice this many days before a review that would move the "
        "member down (0: none).",
        examples=[30],
    )
    refund_reverts_upgrade: bool = Field(
        default=True,
        strict=True,
        description="A refund that leaves the member short of a tier an order at or after the "
        "refunded one gave them moves them back (grants by hand are never undone).",
    )
    tiers: list[dict[str, Any]] = Field(
        min_length=1, max_length=10, examples=[DEFAULT_LADDER["tiers"]]
    )


def _render(raw: Any, ladder: Ladder) -> dict[str, Any]:
    """Store a ladder with its periods and switches spelled out, as ``PUT /tiers`` stores it."""
    return {
        "period": ladder.period,
        "review": ladder.review_mode,
        "notice_days": ladder.notice_days,
        "refund_reverts_upgrade": ladder.refund_reverts_upgrade,
        "tiers": raw["tiers"],
    }


def _replace(session: Session, *, program: Any, value: Any, actor: str | None) -> Any:
    """Replace the ladder through the tier service: its moves and tiers-in-use checks apply."""
    # Imported here: the tier service needs the program service, which reads this module.
    from memberkit.kit.time import utcnow
    from memberkit.tier import service

    if not isinstance(value, Mapping):
        raise LadderError(_("the ladder must be an object"))
    moves = value.get("moves", {})
    if not isinstance(moves, Mapping) or not all(
        isinstance(key, str) and isinstance(target, str) for key, target in moves.items()
    ):
        raise LadderError(_('moves map old tier codes to new ones, e.g. {"gold": "silver"}'))
    config = {key: item for key, item in value.items() if key != "moves"}
    return service.replace_ladder(
        session, program=program, config=config, moves=moves, now=utcnow(), actor=actor
    )


LADDER: Section[Ladder] = Section(
    name="ladder",
    title=_("Tier ladder"),
    parse=parse_ladder,
    default=lambda: copy.deepcopy(DEFAULT_LADDER),
    model=LadderSettings,
    render=_render,
    apply=_replace,
)
