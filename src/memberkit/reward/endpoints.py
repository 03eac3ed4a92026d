"""REST endpoints of the points catalog (积分商城): rewards, redemptions, pickup, cancelling."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import ChainAdminContext, MemberNo, PosContext, ReadContext
from memberkit.audit.rules import Origin
from memberkit.auth.service import Principal
from memberkit.kit import keys
from memberkit.member import service as member_service
from memberkit.reward import service
from memberkit.reward.rules import RedemptionStatus
from memberkit.reward.schemas import (
    CODE,
    CancelIn,
    FulfilIn,
    RedeemedOut,
    RedeemIn,
    RedemptionOut,
    RewardIn,
    RewardOut,
    RewardPatch,
)

router = APIRouter(prefix="/api/v1", tags=["rewards"])

RewardCode = Annotated[str, Path(pattern=CODE)]
RedemptionId = Annotated[str, Path(min_length=1, max_length=100)]


def _origin(principal: Principal) -> Origin:
    return Origin(f"api:{principal.actor}")


def _redeemed(result: service.Redeemed) -> RedeemedOut:
    return RedeemedOut.made(result.redemption, result.points_balance)


@router.get("/rewards", response_model=list[RewardOut])
def list_rewards(context: ReadContext, active: bool = False) -> list[RewardOut]:
    """Return the program's rewards by code (``active=true``: only those switched on)."""
    with context.transaction() as session:
        found = service.catalog(session, program=context.program, active_only=active)
        return [RewardOut.of(reward) for reward in found]


@router.get("/rewards/{code}", response_model=RewardOut)
def get_reward(code: RewardCode, context: ReadContext) -> RewardOut:
    """Return one reward, with its stock left and units redeemed."""
    with context.transaction() as session:
        return RewardOut.of(service.get(session, program=context.program, code=code))


@router.post(
    "/rewards",
    status_code=201,
    response_model=RewardOut,
    responses={200: {"description": "The same reward existed already"}},
)
def define_reward(body: RewardIn, context: ChainAdminContext) -> JSONResponse:
    """Define a reward of the catalog: goods, a service or coupons, for points (and cash).

    ``stock`` left out: unlimited. ``limit_count`` per member per ``limit_period`` (``day``,
    ``week``, ``month``, ``quarter``, ``year`` from local midnight on the program's clock, or
    ``once``). ``tiers`` empty: every tier. ``available_from``/``available_until``: the window.
    Kind ``coupon`` names its ``coupon_template`` and has no cash part: redeeming it issues the
    coupons at once (the template's budget and limit hold) and settles it. The same
    definition again returns it with 200; another one under a code in use is a 409
    ``reward_exists``. Audited.
    """
    spec = service.RewardSpec(
        code=body.code,
        kind=body.kind,
        name=body.name,
        description=body.description,
        picture_url=body.picture_url,
        points=body.points,
        cash_minor=body.cash,
        stock=body.stock,
        limit_count=body.limit_count,
        limit_period=body.limit_period,
        available_from=body.available_from,
        available_until=body.available_until,
        tiers=tuple(body.tiers),
        active=body.active,
        coupon_template=body.coupon_template,
    )
    with context.transaction() as session:
        reward, created = service.define(
            session, program=context.program, spec=spec, origin=_origin(context.principal)
        )
        out = RewardOut.of(reward)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.patch("/rewards/{code}", response_model=RewardOut)
def change_reward(code: RewardCode, body: RewardPatch, context: ChainAdminContext) -> RewardOut:
    """Change a reward's terms, restock it (``stock``: what is left now) or switch it off.

    Redemptions made keep what they cost. Audited with before and after.
    """
    with context.transaction() as session:
        reward = service.change(
            session,
            program=context.program,
            code=code,
            changes=body.changes(),
            origin=_origin(context.principal),
        )
        return RewardOut.of(reward)


@router.post(
    "/members/{member_no}/redemptions",
    status_code=201,
    response_model=RedeemedOut,
    responses={200: {"description": "A repeat of a redemption already made"}},
)
def redeem(member_no: MemberNo, body: RedeemIn, context: PosContext) -> JSONResponse:
    """Redeem a reward for a member with points (积分兑换); it waits for pickup (``pending``).

    Points are burnt from the member's lots, earliest expiry first. Refused (nothing changed)
    when the reward is off or outside its window (409 ``reward_not_available``), not for the
    member's tier (409 ``reward_tier_restricted``), past the member's limit this period (409
    ``reward_member_limit``), out of stock (409 ``reward_out_of_stock``) or not covered by the
    member's points (409 ``insufficient_points``). Idempotent by ``external_id``: the same
    redemption again returns the first answer with 200. A store-bound key redeems at its
    store.
    """
    store_code = context.principal.store_for(body.store_code)

    def action(session: Session) -> RedeemedOut:
        return _redeemed(
            service.redeem(
                session,
                program=context.program,
                member_no=member_no,
                code=body.reward,
                external_id=body.external_id,
                quantity=body.quantity,
                store_code=store_code,
                actor=context.principal.actor,
            )
        )

    return context.idempotent(
        key=keys.redemption(body.external_id), payload=body, action=action, subject=member_no
    )


@router.get("/members/{member_no}/redemptions", response_model=list[RedemptionOut])
def member_redemptions(member_no: MemberNo, context: ReadContext) -> list[RedemptionOut]:
    """Return the member's redemptions, newest first."""
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        rows = service.of_member(session, program=context.program, member_id=member.id)
        return [RedemptionOut.of(row) for row in rows]


@router.get("/redemptions", response_model=list[RedemptionOut])
def list_redemptions(
    context: ReadContext,
    status: RedemptionStatus | None = None,
    store_code: Annotated[str | None, Query(max_length=32)] = None,
) -> list[RedemptionOut]:
    """Return the latest 100 redemptions, by status and by the store made or picked up at.

    A store-bound key sees what was made or picked up at its store.
    """
    scope = context.principal.store_code
    with context.transaction() as session:
        rows = service.listing(
            session,
            program=context.program,
            status=status,
            store_code=store_code,
            scope=frozenset({scope}) if scope else None,
        )
        return [RedemptionOut.of(row) for row in rows]


@router.get("/redemptions/{external_id}", response_model=RedemptionOut)
def get_redemption(external_id: RedemptionId, context: ReadContext) -> RedemptionOut:
    """Return one redemption by its external id."""
    with context.transaction() as session:
        return RedemptionOut.of(
            service.find(session, program=context.program, external_id=external_id)
        )


@router.post(
    "/redemptions/{external_id}/fulfil",
    status_code=201,
    response_model=RedemptionOut,
    responses={200: {"description": "A repeat of a pickup already recorded"}},
)
def fulfil(external_id: RedemptionId, body: FulfilIn, context: PosContext) -> JSONResponse:
    """Record that a pending redemption was picked up at a store (its cash part taken there).

    A store-bound key records pickups at its own store. Picked up or cancelled already: 409
    ``redemption_not_pending``. Audited.
    """
    store_code = context.principal.store_for(body.store_code)
    if store_code is None:
        raise service.PickupNeedsStore()

    def action(session: Session) -> RedemptionOut:
        return RedemptionOut.of(
            service.fulfil(
                session,
                program=context.program,
                external_id=external_id,
                store_code=store_code,
                origin=_origin(context.principal),
            )
        )

    return context.idempotent(
        key=keys.redemption_fulfil(external_id), payload=body, action=action, subject=external_id
    )


@router.post(
    "/redemptions/{external_id}/cancel",
    status_code=201,
    response_model=RedeemedOut,
    responses={200: {"description": "A repeat of a cancellation already made"}},
)
def cancel(external_id: RedemptionId, body: CancelIn, context: PosContext) -> JSONResponse:
    """Cancel a pending redemption, with a reason: its points and stock come back.

    The points return to the lots they were burnt from, with those lots' own expiry. Picked
    up already: 409 ``redemption_not_pending``. A store-bound key cancels only what was
    redeemed at its store (403 ``store_mismatch``). Audited.
    """

    def action(session: Session) -> RedeemedOut:
        return _redeemed(
            service.cancel(
                session,
                program=context.program,
                external_id=external_id,
                reason=body.reason,
                store_code=context.principal.store_code,
                origin=_origin(context.principal),
            )
        )

    return context.idempotent(
        key=keys.redemption_cancel(external_id), payload=body, action=action, subject=external_id
    )
