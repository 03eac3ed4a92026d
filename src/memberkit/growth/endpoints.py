"""REST endpoints of behaviour events and the growth rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import ChainAdminContext, MemberNo, PosContext, ReadContext
from memberkit.growth import service
from memberkit.growth.schemas import (
    EventIn,
    EventOut,
)
from memberkit.growth.settings import GrowthRulesIn
from memberkit.kit import keys
from memberkit.member.schemas import TierOut
from memberkit.program import service as program_service

router = APIRouter(prefix="/api/v1", tags=["growth"])


@router.post(
    "/members/{member_no}/events",
    status_code=201,
    response_model=EventOut,
    responses={200: {"description": "A repeat of an event already recorded"}},
)
def record_event(member_no: MemberNo, body: EventIn, context: PosContext) -> JSONResponse:
    """Record a behaviour and award its growth within the period's cap.

    Behaviours: review, photo review, share, sign-in, profile completion, an invitee's first
    purchase. Idempotent by ``external_id``. An event that qualifies the member for a higher tier
    upgrades them at once, and ``tier.upgraded`` says so.
    """

    def action(session: Session) -> EventOut:
        result = service.record(
            session,
            program=context.program,
            member_no=member_no,
            kind=body.type,
            occurred_at=body.occurred_at,
            external_id=body.external_id,
        )
        return EventOut(
            member_no=result.member_no,
            type=result.kind,
            growth_awarded=result.growth_awarded,
            capped=result.capped,
            growth_balance=result.growth_balance,
            tier=TierOut.of(result.tier),
        )

    return context.idempotent(
        key=keys.event(body.external_id), payload=body, action=action, subject=member_no
    )


@router.get("/growth")
def get_growth_rules(context: ReadContext) -> dict[str, Any]:
    """Return the growth each behaviour earns, with its cap and capping period."""
    return context.program.raw_growth


@router.put("/growth")
def set_growth_rules(body: GrowthRulesIn, context: ChainAdminContext) -> dict[str, Any]:
    """Replace the growth rules (admin keys); invalid rules are refused and change nothing."""
    with context.transaction() as session:
        config = program_service.configure(
            session, program=context.program, growth_rules=body.model_dump(exclude_none=True)
        )
    return config.raw_growth
