"""REST endpoints of tiers: the ladder, a member's tier and its history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import (
    AdminContext,
    ChainAdminContext,
    IdempotencyKey,
    MemberNo,
    MissingIdempotencyKey,
    ReadContext,
)
from memberkit.kit import keys
from memberkit.kit.schemas import Page, PageNumber, PageSize
from memberkit.kit.time import utcnow
from memberkit.member import service as member_service
from memberkit.tier import service
from memberkit.tier.schemas import (
    BucketOut,
    GrantIn,
    LadderIn,
    MemberTierOut,
    NoticeListingOut,
    NoticeListOut,
    NoticeOut,
    SimulationIn,
    SimulationOut,
    TierChangeOut,
    TierCountOut,
    TierOut,
)
from memberkit.tier.simulate import Proposal, simulate

router = APIRouter(prefix="/api/v1", tags=["tiers"])


@router.get("/tiers")
def get_ladder(context: ReadContext) -> dict[str, Any]:
    """Return the tier ladder: tiers lowest first, with qualification and retention rules."""
    return context.program.raw_ladder


@router.put("/tiers")
def set_ladder(body: LadderIn, context: ChainAdminContext) -> dict[str, Any]:
    """Replace the tier ladder (admin keys); invalid ladders are refused and change nothing.

    Thresholds must rise from tier to tier, conditions must be known, and the first tier has no
    qualification. Members keep their tier by code; the new rules apply from the next event or
    review. A ladder without a tier some member holds is refused with 409 ``tiers_in_use``
    (naming the tiers and how many members hold each) unless ``moves`` says where they go;
    those moves are recorded in the members' tier history (reason ``ladder_change``).
    """
    with context.transaction() as session:
        config = service.replace_ladder(
            session,
            program=context.program,
            config=body.model_dump(exclude={"moves"}),
            moves=body.moves,
            now=utcnow(),
            actor=f"api:{context.principal.name}",
        )
    return config.raw_ladder


@router.post("/tiers/simulate", response_model=SimulationOut)
def simulate_tiers(body: SimulationIn, context: ReadContext) -> SimulationOut:
    """Simulate proposed thresholds against today's members; changes nothing.

    Shows how members spread by growth and rolling spend, and where the thresholds would put
    them compared with today.
    """
    proposal = Proposal(body.growth_thresholds, body.spend_thresholds, body.spend_within_days)
    with context.transaction() as session:
        result = simulate(
            session,
            program_id=context.program.id,
            ladder=context.program.ladder,
            history=service.counts_history(context.program),
            proposal=proposal,
            now=utcnow(),
        )
    return SimulationOut(
        members=result.members,
        growth_histogram=[BucketOut(**vars(b)) for b in result.growth_histogram],
        spend_histogram=[BucketOut(**vars(b)) for b in result.spend_histogram],
        spend_within_days=result.spend_days,
        tiers=[TierCountOut(**vars(t)) for t in result.tiers],
        up=result.up,
        down=result.down,
        unchanged=result.unchanged,
    )


def _notice_out(notice: service.NoticeView) -> NoticeOut:
    return NoticeOut(
        review_at=notice.review_at,
        expected_tier=TierOut.of(notice.expected),
        recorded_at=notice.recorded_at,
    )


@router.get("/tiers/notices", response_model=NoticeListOut)
def list_notices(
    context: ReadContext,
    page: Annotated[PageNumber, Query()] = 1,
    page_size: Annotated[PageSize, Query()] = 50,
) -> NoticeListOut:
    """List the grace notices of reviews not yet run, soonest review first.

    Each is a member who would move down if reviewed as they stood when judged, e.g. to remind
    them what keeps their tier.
    """
    with context.transaction() as session:
        total, rows = service.upcoming_notices(
            session,
            program=context.program,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
    return NoticeListOut(
        items=[
            NoticeListingOut(
                member_no=row.member_no, tier=TierOut.of(row.tier), notice=_notice_out(row.notice)
            )
            for row in rows
        ],
        page=Page(page=page, page_size=page_size, total=total),
    )


@router.get("/members/{member_no}/tier", response_model=MemberTierOut)
def get_member_tier(member_no: MemberNo, context: ReadContext) -> MemberTierOut:
    """Return the member's tier, its next review, and the history of moves (newest first).

    ``notice`` is the grace notice recorded for the next review, when the member was at risk.
    """
    ladder = context.program.ladder
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        changes = service.history(session, member_id=member.id)
        notice = service.pending_notice(
            session, ladder=ladder, member_id=member.id, review_at=member.tier_review_at
        )
    return MemberTierOut(
        member_no=member.member_no,
        tier=TierOut.of(service.outcome(ladder, member.tier_code)),
        since=member.tier_since,
        review_at=member.tier_review_at,
        notice=None if notice is None else _notice_out(notice),
        history=[
            TierChangeOut(
                from_tier=c.from_code,
                to_tier=c.to_code,
                reason=c.reason,
                at=c.at,
                note=c.note,
                actor=c.actor,
            )
            for c in changes
        ],
    )


@router.post(
    "/members/{member_no}/tier/grants",
    status_code=201,
    response_model=TierOut,
    responses={200: {"description": "A repeat of a grant already made"}},
)
def grant_tier(
    member_no: MemberNo,
    body: GrantIn,
    context: AdminContext,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Grant a tier by hand (admin keys) until ``until``; the review then judges it as usual.

    Needs an ``Idempotency-Key`` header; the acting key's name and the reason are recorded in
    the member's tier history. A grant that would move the member down is refused with 409
    ``grant_moves_down`` unless ``allow_down`` is true. A refund never undoes a grant.
    """
    if not idempotency_key:
        raise MissingIdempotencyKey()
    key = keys.grant(member_no, idempotency_key)

    def action(session: Session) -> TierOut:
        result = service.grant_tier(
            session,
            program=context.program,
            member_no=member_no,
            tier_code=body.tier,
            last_day=body.until,
            note=body.reason,
            actor=context.principal.actor,
            key=key,
            now=utcnow(),
            allow_down=body.allow_down,
        )
        return TierOut.of(result)

    return context.idempotent(key=key, payload=body, action=action)
