"""REST endpoints of coupons (优惠券): templates, issuing, bulk batches, imports, reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import ApiContext, ChainAdminContext, MemberNo, ReadContext
from memberkit.audit import service as audit_service
from memberkit.audit.rules import Origin
from memberkit.coupon import queries, service, tasks
from memberkit.coupon.models import CouponBatch, CouponTemplate
from memberkit.coupon.schemas import (
    CODE,
    BatchIn,
    BatchOut,
    CouponOut,
    FiguresOut,
    ImportIn,
    ImportOut,
    IssuedOut,
    IssueIn,
    RevokeIn,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from memberkit.errors import InvalidInput
from memberkit.kit import keys
from memberkit.kit.i18n import _
from memberkit.kit.time import start_of_local_day

router = APIRouter(prefix="/api/v1", tags=["coupons"])

TemplateCode = Annotated[str, Path(pattern=CODE)]
CouponCode = Annotated[str, Path(min_length=1, max_length=40)]
State = Annotated[str | None, Query(pattern=r"^(available|used|expired|revoked)$")]


def _out(context: ApiContext, template: CouponTemplate) -> TemplateOut:
    return TemplateOut.of(template, service.terms_of(template, context.program))


def _audit(
    context: ApiContext, session: Session, *, action: str, subject: str, after: object
) -> None:
    audit_service.record(
        session,
        program_id=context.program.id,
        origin=Origin(context.principal.actor),
        action=action,
        subject_type="coupon",
        subject_id=subject,
        before=None,
        after=after,
    )


@router.get("/coupon-templates", response_model=list[TemplateOut])
def list_templates(context: ReadContext) -> list[TemplateOut]:
    """Return every coupon template of the program, newest first, with its counters."""
    with context.transaction() as session:
        return [_out(context, t) for t in service.catalog(session, program=context.program)]


@router.get("/coupon-templates/{code}", response_model=TemplateOut)
def get_template(code: TemplateCode, context: ReadContext) -> TemplateOut:
    """Return one coupon template."""
    with context.transaction() as session:
        return _out(context, service.found(session, program=context.program, code=code))


@router.post(
    "/coupon-templates",
    status_code=201,
    response_model=TemplateOut,
    responses={200: {"description": "The same template existed already"}},
)
def define_template(body: TemplateIn, context: ChainAdminContext) -> JSONResponse:
    """Define a coupon template (满减, 折扣, 代金券, 兑换券, free shipping).

    ``kind``: 满减 ``amount_off``, 折扣 ``percent_off``, 代金券 ``cash``, 兑换券 ``gift`` or
    ``free_shipping``.

    Validity: ``valid_from``/``valid_until`` (local days, the last inclusive) or ``valid_days``
    from the day of issue. ``on_registration``, ``on_upgrade_tier`` and ``on_birthday`` make
    the platform give it by itself. Terms that do not make sense are a 422
    ``invalid_coupon_template`` saying why. The same definition again returns it with 200;
    another under a code in use is a 409 ``coupon_template_exists``.
    """
    with context.transaction() as session:
        template, created = service.define(
            session, program=context.program, code=body.code, given=body.given()
        )
        out = _out(context, template)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.patch("/coupon-templates/{code}", response_model=TemplateOut)
def change_template(
    code: TemplateCode, body: TemplatePatch, context: ChainAdminContext
) -> TemplateOut:
    """Change a template; the whole is checked again.

    Once it has issued coupons its terms are frozen (409 ``coupon_template_issued``): only
    the name, description, ``active``, budgets, per-member limit and the ``on_*`` flags change.
    """
    with context.transaction() as session:
        template = service.change(
            session, program=context.program, code=code, changes=body.changes()
        )
        return _out(context, template)


@router.post(
    "/coupon-templates/{code}/issues",
    status_code=201,
    response_model=IssuedOut,
    responses={200: {"description": "A repeat of an issue already made"}},
)
def issue_coupon(code: TemplateCode, body: IssueIn, context: ChainAdminContext) -> JSONResponse:
    """Issue a coupon of the template to one member by hand (audited).

    Refused when the budget is spent (409 ``coupon_budget_spent``), the member holds the
    template's per-member limit (409 ``coupon_member_limit``), the template is off (409
    ``coupon_template_inactive``) or its validity is over (409 ``coupon_template_lapsed``).
    Idempotent by ``external_id``: the same issue again returns the same coupon with 200.
    """

    def action(session: Session) -> IssuedOut:
        issued = service.issue_by_hand(
            session,
            program=context.program,
            template_code=code,
            member_no=body.member_no,
            external_id=body.external_id,
            actor=context.principal.actor,
        )
        if issued.created:
            _audit(
                context,
                session,
                action="coupon.issue",
                subject=issued.coupon.code,
                after={"template": code, "member_no": body.member_no, "reason": body.reason},
            )
        out = CouponOut.of(issued.coupon, issued.template, "available", body.member_no)
        return IssuedOut(**out.model_dump(), created=issued.created)

    return context.idempotent(
        key=keys.coupon_issue(code, body.external_id),
        payload=body,
        action=action,
        subject=body.member_no,
    )


@router.post(
    "/coupons/{coupon_code}/revoke",
    status_code=201,
    response_model=CouponOut,
    responses={200: {"description": "A repeat of a revocation already made"}},
)
def revoke_coupon(
    coupon_code: CouponCode, body: RevokeIn, context: ChainAdminContext
) -> JSONResponse:
    """Revoke an available coupon, with a reason (audited).

    A used one is a 409 ``coupon_not_revocable``. Revoking it again answers the same.
    """

    def action(session: Session) -> CouponOut:
        coupon = service.revoke(
            session,
            program=context.program,
            code=coupon_code,
            reason=body.reason,
            actor=context.principal.actor,
        )
        _audit(
            context,
            session,
            action="coupon.revoke",
            subject=coupon.code,
            after={"reason": body.reason},
        )
        template = session.get(CouponTemplate, coupon.template_id)
        assert template is not None
        return CouponOut.of(coupon, template, "revoked", None)

    return context.idempotent(
        key=keys.coupon_revoke(coupon_code), payload=body, action=action, subject=coupon_code
    )


@router.get("/members/{member_no}/coupons", response_model=list[CouponOut])
def member_coupons(
    member_no: MemberNo, context: ReadContext, state: State = None
) -> list[CouponOut]:
    """Return the member's coupons, newest first, each with its state.

    Return the member's coupons, newest first: ``available``, ``used``, ``expired`` (an
    available one past its last moment) or ``revoked``; ``state`` keeps one of them.
    """
    with context.transaction() as session:
        held = service.of_member(session, program=context.program, member_no=member_no)
    return [
        CouponOut.of(coupon, template, shown, member_no)
        for coupon, template, shown in held
        if state is None or shown == state
    ]


def _batch_out(session: Session, batch: CouponBatch) -> BatchOut:
    template = session.get(CouponTemplate, batch.template_id)
    assert template is not None
    return BatchOut.of(batch, template.code)


@router.post(
    "/coupon-batches",
    status_code=201,
    response_model=BatchOut,
    responses={200: {"description": "The same batch existed already"}},
)
def start_batch(body: BatchIn, context: ChainAdminContext) -> JSONResponse:
    """Issue a template in bulk, in the background, to a list or a filter of members.

    To ``members`` (card numbers or phones), or to the active members a ``filter`` finds
    (tier, tag, store, registered between two days).

    Answers at once with the batch; read its progress with ``GET /coupon-batches/{id}``. Each
    member gets at most one coupon of the batch, however often it runs. Idempotent by
    ``external_id``; the same batch again answers it with 200 and starts it again if it was
    cut short (a restart).
    """
    if (body.members is None) == (body.filter is None):
        raise InvalidInput(
            _("Give either members (card numbers or phones) or a filter of members.")
        )
    wanted = None
    if body.filter is not None:
        tz = context.program.tz
        given = body.filter
        wanted = queries.MemberFilter(
            tier_code=given.tier,
            tag=given.tag,
            store_code=given.store_code,
            since=start_of_local_day(given.registered_from, tz) if given.registered_from else None,
            until=start_of_local_day(given.registered_to + timedelta(days=1), tz)
            if given.registered_to
            else None,
        )
    with context.transaction() as session:
        batch, created = service.start_batch(
            session,
            program=context.program,
            template_code=body.template,
            external_id=body.external_id,
            actor=context.principal.actor,
            identifiers=body.members,
            wanted=wanted,
        )
        if created:
            _audit(
                context,
                session,
                action="coupon.batch",
                subject=body.template,
                after={"external_id": body.external_id, "total": batch.total},
            )
        out = _batch_out(session, batch)
    if out.state in ("pending", "running"):
        tasks.run_in_background(context.database, program=context.program, batch_id=out.id)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/coupon-batches/{batch_id}", response_model=BatchOut)
def read_batch(batch_id: Annotated[int, Path(ge=1, le=2**62)], context: ReadContext) -> BatchOut:
    """Return a bulk issue and how far it went (``done`` of ``total`` rows)."""
    with context.transaction() as session:
        batch = service.batch_of(session, program=context.program, batch_id=batch_id)
        return _batch_out(session, batch)


@router.post("/coupon-templates/{code}/imports", status_code=201, response_model=ImportOut)
def import_codes(code: TemplateCode, body: ImportIn, context: ChainAdminContext) -> ImportOut:
    """Import a partner's codes for the template, each optionally held by a member.

    Codes are kept as given (stripped). A code twice in the list or already in the program,
    or an unknown member, is reported by row (``refused``) and the rest imported; importing
    the same list again imports nothing twice.
    """
    with context.transaction() as session:
        result = service.import_codes(
            session,
            program=context.program,
            template_code=code,
            rows=[(row.code, row.member_no) for row in body.rows],
            actor=context.principal.actor,
        )
        if result.imported:
            _audit(
                context,
                session,
                action="coupon.import",
                subject=code,
                after={"imported": result.imported, "refused": len(result.refused)},
            )
    return ImportOut(imported=result.imported, refused=result.refused)


@router.get("/coupon-report", response_model=list[FiguresOut])
def coupon_report(context: ReadContext) -> list[FiguresOut]:
    """Return each template's liability and effect as of now.

    Issued, redeemed, expired, outstanding (available and still valid), revoked; the discount
    given (less refunds) and the sales of the orders that used its coupons. Chain-wide: a
    store-bound key is refused.
    """
    context.principal.require_unbound()
    with context.transaction() as session:
        return [FiguresOut.of(t, f) for t, f in service.report(session, program=context.program)]
