"""REST endpoints of benefits (权益): definitions, grants to tiers, a member's, verifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from memberkit.api.context import ChainAdminContext, MemberNo, PosContext, ReadContext
from memberkit.benefit import service
from memberkit.benefit.rules import BenefitKind
from memberkit.benefit.schemas import (
    CODE,
    BenefitIn,
    BenefitOut,
    BenefitPatch,
    GrantBody,
    MemberBenefitOut,
    UndoIn,
    UseIn,
    UseOut,
)
from memberkit.kit import keys
from memberkit.member import service as member_service

router = APIRouter(prefix="/api/v1", tags=["benefits"])

BenefitCode = Annotated[str, Path(pattern=CODE)]
UseId = Annotated[str, Path(min_length=1, max_length=100)]


def _view(context: ReadContext, session: Session, code: str) -> BenefitOut:
    found = next(
        (v for v in service.catalog(session, program=context.program) if v.benefit.code == code),
        None,
    )
    if found is None:
        raise service.BenefitNotFound(code=code)
    return BenefitOut.of(found)


@router.get("/benefits", response_model=list[BenefitOut])
def list_benefits(context: ReadContext) -> list[BenefitOut]:
    """Return every benefit of the program, the system ones first, with the tiers that have it."""
    with context.transaction() as session:
        return [BenefitOut.of(view) for view in service.catalog(session, program=context.program)]


@router.post(
    "/benefits",
    status_code=201,
    response_model=BenefitOut,
    responses={200: {"description": "The same benefit existed already"}},
)
def define_benefit(body: BenefitIn, context: ChainAdminContext) -> JSONResponse:
    """Define a benefit the stores verify (核销): parking, a lounge, a birthday gift, any other.

    The system benefits (``discount``, ``member_price``, ``free_shipping``) exist for every
    program and cannot be made (409 ``benefit_is_system``). The same definition again returns
    it with 200; another one under a code in use is a 409 ``benefit_exists``.
    """
    with context.transaction() as session:
        _benefit, created = service.define(
            session,
            program=context.program,
            code=body.code,
            kind=body.kind,
            name=body.name,
            description=body.description,
            icon=body.icon,
        )
        out = _view(context, session, body.code)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.patch("/benefits/{code}", response_model=BenefitOut)
def change_benefit(code: BenefitCode, body: BenefitPatch, context: ChainAdminContext) -> BenefitOut:
    """Rename, re-describe or switch a benefit on or off (a system one: never off)."""
    with context.transaction() as session:
        service.change(
            session,
            program=context.program,
            code=code,
            name=body.name,
            description=body.description,
            icon=body.icon,
            active=body.active,
        )
        return _view(context, session, code)


@router.delete("/benefits/{code}", status_code=204)
def delete_benefit(code: BenefitCode, context: ChainAdminContext) -> Response:
    """Delete a benefit never used; a used one is refused (409 ``benefit_used``): switch it off."""
    with context.transaction() as session:
        service.delete(session, program=context.program, code=code)
    return Response(status_code=204)


@router.put("/benefits/{code}/grants", response_model=BenefitOut)
def grant_benefit(
    code: BenefitCode,
    body: Annotated[list[GrantBody], Body(max_length=50)],
    context: ChainAdminContext,
) -> BenefitOut:
    """Replace which tiers have the benefit: each with a quota per period and a value.

    ``period``: ``day``, ``week`` (from Monday), ``month``, ``quarter``, ``year`` — from local
    midnight in the program's timezone — or ``once`` (while the member holds the tier). No
    ``quota``: no limit. ``value``: the rate paid for a ``discount`` (9500 = 95 %), the hours of
    ``parking``. At most one grant per tier, 50 in all.
    """
    grants = [service.GrantIn(g.tier, g.quota, g.period, g.value) for g in body]
    with context.transaction() as session:
        service.grant(session, program=context.program, code=code, grants=grants)
        return _view(context, session, code)


@router.get("/members/{member_no}/benefits", response_model=list[MemberBenefitOut])
def member_benefits(member_no: MemberNo, context: ReadContext) -> list[MemberBenefitOut]:
    """Return the benefits the member's tier has, with what is left of each this period."""
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        found = service.of_member(session, program=context.program, member=member)
    return [
        MemberBenefitOut(
            code=item.benefit.code,
            kind=BenefitKind(item.benefit.kind),
            name=item.benefit.name,
            quota=item.grant.quota,
            period=item.grant.period,
            value=item.grant.value,
            used=item.used,
            left=item.left,
            renews_at=item.renews_at,
        )
        for item in found
    ]


@router.post(
    "/members/{member_no}/benefits/{code}/uses",
    status_code=201,
    response_model=UseOut,
    responses={200: {"description": "A repeat of a use already made"}},
)
def use_benefit(
    member_no: MemberNo, code: BenefitCode, body: UseIn, context: PosContext
) -> JSONResponse:
    """Verify (核销) a benefit for a member at a store, within their tier's quota.

    Refused when the quota of the period is used up (409 ``benefit_quota_exhausted``, saying
    when it starts again), when the tier does not have it (409 ``benefit_not_granted``), when
    it is off (409 ``benefit_inactive``) or applied by the platform itself (409
    ``benefit_is_system``). Idempotent by ``external_id``: the same use again returns the first
    answer with 200. A store-bound key verifies at its own store.
    """
    store_code = context.principal.store_for(body.store_code)

    def action(session: Session) -> UseOut:
        result = service.use(
            session,
            program=context.program,
            member_no=member_no,
            code=code,
            external_id=body.external_id,
            quantity=body.quantity,
            store_code=store_code,
            actor=context.principal.actor,
        )
        return UseOut.of(result)

    return context.idempotent(
        key=keys.benefit_use(body.external_id),
        payload=body,
        action=action,
        subject=f"{member_no}/{code}",
    )


@router.post(
    "/members/{member_no}/benefit-uses/{external_id}/undo",
    status_code=201,
    response_model=UseOut,
    responses={200: {"description": "A repeat of an undo already made"}},
)
def undo_use(
    member_no: MemberNo, external_id: UseId, body: UndoIn, context: PosContext
) -> JSONResponse:
    """Undo a verification within the program's undo window (benefits section), with a reason.

    The quota it used comes back. Past the window: 409 ``benefit_undo_closed``. A store-bound
    key undoes only uses made at its store (403 ``store_mismatch``).
    """

    def action(session: Session) -> UseOut:
        result = service.undo(
            session,
            program=context.program,
            member_no=member_no,
            external_id=external_id,
            reason=body.reason,
            store_code=context.principal.store_code,
        )
        return UseOut.of(result)

    return context.idempotent(
        key=keys.benefit_undo(external_id),
        payload=body,
        action=action,
        subject=member_no,
    )
