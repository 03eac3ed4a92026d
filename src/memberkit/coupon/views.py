"""Console pages of coupons, and the coupons panel of the member page.

Templates (list with their figures, create, edit), issuing by hand, bulk issues (to a CSV
list of card numbers or phones, or to a filter of members) with their progress, imports of a
partner's codes; each form calls the service the API calls, and every change is audited.
Owners, admins and marketers manage coupons; analysts read; store-bound roles see a member's
coupons on the member page (their stores' members only).
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from memberkit.coupon import queries, service, tasks
from memberkit.coupon.models import CouponTemplate
from memberkit.coupon.rules import CouponKind
from memberkit.coupon.schemas import TemplateFields, TemplateIn
from memberkit.coupon.terms import SCOPE_FIELDS
from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.kit.money import format_money
from memberkit.kit.time import start_of_local_day, utcnow
from memberkit.member.models import Member
from memberkit.member.panels import Panel, Seen, register
from memberkit.member.views import Viewer, act, field_errors, read_form

router = APIRouter(prefix="/admin", include_in_schema=False)

SeeCoupons = Annotated[StaffContext, Depends(require_action(Action.view_coupons))]
ManageCoupons = Annotated[StaffContext, Depends(require_action(Action.manage_coupons))]

#: How each state of a held coupon is called on the pages.
STATE_NAMES = {
    "available": _("available"),
    "used": _("used"),
    "expired": _("expired"),
    "revoked": _("revoked"),
}
KIND_NAMES = {
    CouponKind.amount_off: _("amount off above a threshold (满减)"),
    CouponKind.percent_off: _("percent off (折扣)"),
    CouponKind.cash: _("cash voucher (代金券)"),
    CouponKind.gift: _("gift (兑换券)"),
    CouponKind.free_shipping: _("free shipping"),
}
#: What the template form offers: free shipping waits for orders with a shipping fee.
FORM_KINDS = {kind: name for kind, name in KIND_NAMES.items() if kind != CouponKind.free_shipping}
BATCH_STATES = {
    "pending": _("waiting"),
    "running": _("running"),
    "done": _("done"),
    "failed": _("failed"),
}
#: The template form's fields: texts, then check boxes.
TEXT_FIELDS = (
    "name",
    "description",
    "kind",
    "off",
    "threshold",
    "percent_bp",
    "cap",
    "gift_sku",
    "min_spend",
    "valid_from",
    "valid_until",
    "valid_days",
    "per_member_limit",
    "budget_count",
    "budget",
    "on_upgrade_tier",
)
FLAGS = (
    "with_coupons",
    "with_tier_discount",
    "with_points",
    "return_on_refund",
    "active",
    "on_registration",
    "on_birthday",
)
_INSTANT = timedelta(microseconds=1)
#: Rows of a CSV upload read at most.
MAX_UPLOAD = 2_000_000


# --- the member page ------------------------------------------------------------------------


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's coupons, as ``GET /api/v1/members/{no}/coupons`` reads them."""
    held = (
        service.of_member(session, program=seen.program, member_no=seen.member.member_no)
        if seen.in_scope
        else []
    )
    tz = seen.program.tz
    return {
        # The last local day a coupon may be used (``valid_until`` is the moment it lapses).
        "coupons": [
            (coupon, template, state, (coupon.valid_until.astimezone(tz) - _INSTANT).date())
            for coupon, template, state in held
        ],
        "state_names": STATE_NAMES,
        "may_revoke": seen.in_scope and seen.actor.may(Action.manage_coupons),
    }


register(Panel("coupons", "coupon/panel.html", _load, order=25))


@router.post("/members/{member_no}/coupons/{code}/revoke")
async def revoke_coupon(staff: Viewer, member_no: str, code: str) -> Response:
    """Revoke one of the member's available coupons, with a reason (audited, once per key)."""
    form = await read_form(staff)
    reason = form.get("reason", "").strip()[:200]
    code = code[:40]

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        held = {
            c.code
            for c, _t, _s in service.of_member(
                session, program=staff.program, member_no=member.member_no
            )
        }
        if code not in held:
            raise service.CouponNotFound(coupon=code)
        revoked = service.revoke(
            session,
            program=staff.program,
            code=code,
            reason=reason or translate(_("revoked in the console"), "en"),
            actor=f"staff:{staff.actor.username}",
        )
        return (
            {"coupon": code, "status": "available"},
            {
                "coupon": code,
                "status": revoked.status,
                "reason": revoked.revoke_reason,
            },
            {"coupon": code},
        )

    return act(
        staff,
        member_no,
        action=Action.manage_coupons,
        name="coupon-revoke",
        form=form,
        change=change,
    )


# --- templates ------------------------------------------------------------------------------


@router.get("/coupons")
def coupons_page(staff: SeeCoupons) -> Response:
    """Every template with its liability and effect, and the latest bulk issues."""
    with staff.work.transaction() as session:
        report = service.report(session, program=staff.program)
        batches = queries.batches(session, program_id=staff.program.id, limit=20)
        codes = {t.id: t.code for t, _f in report}
    return staff.render(
        "coupon/list.html",
        report=report,
        batches=[(b, codes.get(b.template_id, "")) for b in batches],
        kinds=KIND_NAMES,
        batch_states=BATCH_STATES,
        may_manage=staff.actor.may(Action.manage_coupons),
    )


def _blank() -> dict[str, Any]:
    entered: dict[str, Any] = {name: "" for name in TEXT_FIELDS}
    entered |= {"code": "", "kind": "cash", "valid_days": "30"}
    entered |= {name: "" for name in SCOPE_FIELDS}
    entered |= {
        flag: flag in ("with_tier_discount", "with_points", "return_on_refund", "active")
        for flag in FLAGS
    }
    return entered


def _entered(form: FormData) -> dict[str, Any]:
    entered: dict[str, Any] = {name: str(form.get(name, "")).strip()[:500] for name in TEXT_FIELDS}
    entered["code"] = str(form.get("code", "")).strip()[:40]
    entered |= {name: str(form.get(name, "")).strip()[:2000] for name in SCOPE_FIELDS}
    entered |= {flag: form.get(flag) == "yes" for flag in FLAGS}
    return entered


def _shown(template: CouponTemplate, program: Any) -> dict[str, Any]:
    """A template as its form shows it."""
    terms = service.terms_of(template, program)
    money = {
        "off": terms.off_minor,
        "threshold": terms.threshold_minor,
        "min_spend": terms.min_spend_minor,
    }
    entered: dict[str, Any] = {
        name: format_money(value) if value else "" for name, value in money.items()
    }
    entered |= {
        "code": template.code,
        "name": terms.name,
        "description": terms.description,
        "kind": str(terms.kind),
        "percent_bp": str(terms.percent_bp or ""),
        "cap": format_money(terms.cap_minor) if terms.cap_minor is not None else "",
        "gift_sku": terms.gift_sku or "",
        "valid_from": terms.valid_from.isoformat() if terms.valid_from else "",
        "valid_until": terms.valid_until.isoformat() if terms.valid_until else "",
        "valid_days": str(terms.valid_days or ""),
        "per_member_limit": str(terms.per_member_limit or ""),
        "budget_count": str(terms.budget_count or ""),
        "budget": format_money(terms.budget_minor) if terms.budget_minor is not None else "",
        "on_upgrade_tier": terms.on_upgrade_tier or "",
    }
    entered |= {name: ", ".join(terms.scope.get(name, [])) for name in SCOPE_FIELDS}
    entered |= {flag: bool(getattr(terms, flag)) for flag in FLAGS}
    return entered


def _parsed(entered: dict[str, Any], *, with_code: bool) -> dict[str, Any]:
    """The form as the template API would read it (empty: not given)."""
    raw: dict[str, Any] = {name: entered[name] for name in TEXT_FIELDS if entered[name] != ""}
    raw |= {flag: entered[flag] for flag in FLAGS}
    raw["scope"] = {
        name: [part.strip() for part in entered[name].replace("，", ",").split(",") if part.strip()]
        for name in SCOPE_FIELDS
    }
    raw.setdefault("off", "0")
    raw.setdefault("threshold", "0")
    raw.setdefault("min_spend", "0")
    raw.setdefault("percent_bp", "0")
    if with_code:
        raw["code"] = entered["code"]
    return raw


def _form(
    staff: StaffContext,
    *,
    entered: dict[str, Any],
    template: CouponTemplate | None = None,
    figures: Any = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    refused_rows: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    return staff.render(
        "coupon/template.html",
        refused_rows=refused_rows or [],
        status_code=status_code,
        entered=entered,
        template=template,
        figures=figures,
        kinds=FORM_KINDS,
        scope_fields=SCOPE_FIELDS,
        tiers=[(t.code, t.name) for t in staff.program.ladder.tiers[1:]],
        all_tiers=[(t.code, t.name) for t in staff.program.ladder.tiers],
        errors=errors or {},
        error=error,
        done=done,
        form_key=secrets.token_hex(16),
        may_manage=staff.actor.may(Action.manage_coupons),
    )


@router.get("/coupons/new")
def new_template_page(staff: ManageCoupons) -> Response:
    """The form to define a template."""
    return _form(staff, entered=_blank())


@router.post("/coupons/new")
async def create_template(staff: ManageCoupons) -> Response:
    """Define a template, as ``POST /api/v1/coupon-templates`` does; audited."""
    form = await staff.form()
    entered = _entered(form)
    try:
        body = TemplateIn.model_validate(_parsed(entered, with_code=True))
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix="template")
        return _form(staff, entered=entered, errors=errors, status_code=422)
    try:
        with staff.work.transaction() as session:
            template, created = service.define(
                session, program=staff.program, code=body.code, given=body.given()
            )
            if created:
                record(
                    staff,
                    session,
                    action="coupon_template.create",
                    subject_type="coupon_template",
                    subject_id=template.code,
                    before=None,
                    after=_audited(template),
                )
    except MemberkitError as exc:
        return _form(staff, entered=entered, error=exc.detail(staff.locale), status_code=exc.status)
    return RedirectResponse(f"/admin/coupons/templates/{body.code}?done=saved", status_code=303)


def _audited(template: CouponTemplate) -> dict[str, Any]:
    return {
        name: getattr(template, name)
        for name in (
            *service.TERMS_FIELDS,
            "name",
            "description",
            "active",
            "budget_count",
            "budget_minor",
            "per_member_limit",
            "on_registration",
            "on_upgrade_tier",
            "on_birthday",
        )
    }


def _template_page(
    staff: StaffContext,
    code: str,
    *,
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: str | None = None,
    refused_rows: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    with staff.work.transaction() as session:
        template = service.found(session, program=staff.program, code=code[:32])
        figures = queries.figures(session, template_id=template.id, now=utcnow())
        shown = _shown(template, staff.program)
        session.expunge(template)
    return _form(
        staff,
        entered=entered or shown,
        template=template,
        figures=figures,
        errors=errors,
        error=error,
        done=done,
        refused_rows=refused_rows,
        status_code=status_code,
    )


DONE = {
    "saved": _("The template was saved."),
    "issued": _("The coupon was issued."),
    "imported": _("The codes were imported."),
}


@router.get("/coupons/templates/{code}")
def template_page(staff: SeeCoupons, code: str, done: str | None = None) -> Response:
    """One template: its figures, its form, and issuing it by hand, in bulk or from codes."""
    said = DONE.get(done or "")
    return _template_page(staff, code, done=translate(said, staff.locale) if said else None)


@router.post("/coupons/templates/{code}")
async def change_template(staff: ManageCoupons, code: str) -> Response:
    """Change a template as ``PATCH /api/v1/coupon-templates/{code}`` does; audited.

    Once it has issued coupons a change of its terms is refused and nothing changes.
    """
    form = await staff.form()
    entered = {**_entered(form), "code": code[:32]}
    try:
        fields = TemplateFields.model_validate(_parsed(entered, with_code=False))
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix="template")
        return _template_page(staff, code, entered=entered, errors=errors, status_code=422)
    given = fields.given()
    changes = {name: getattr(given, name) for name in given.__dataclass_fields__ if name != "kind"}
    changes["kind"] = given.kind
    try:
        with staff.work.transaction() as session:
            before = _audited(service.found(session, program=staff.program, code=code[:32]))
            template = service.change(
                session, program=staff.program, code=code[:32], changes=changes
            )
            after = _audited(template)
            if after != before:
                record(
                    staff,
                    session,
                    action="coupon_template.update",
                    subject_type="coupon_template",
                    subject_id=template.code,
                    before=before,
                    after=after,
                )
    except MemberkitError as exc:
        if exc.status == 404:
            raise
        return _template_page(
            staff, code, entered=entered, error=exc.detail(staff.locale), status_code=exc.status
        )
    return RedirectResponse(f"/admin/coupons/templates/{code[:32]}?done=saved", status_code=303)


@router.post("/coupons/templates/{code}/issue")
async def issue_by_hand(staff: ManageCoupons, code: str) -> Response:
    """Issue a coupon to one member by card number (once per form key); audited."""
    form = await staff.form()
    member_no = str(form.get("member_no", "")).strip()[:20]
    key = str(form.get("key", ""))[:40] or secrets.token_hex(16)
    reason = str(form.get("reason", "")).strip()[:200]
    try:
        with staff.work.transaction() as session:
            issued = service.issue_by_hand(
                session,
                program=staff.program,
                template_code=code[:32],
                member_no=member_no,
                external_id=f"console-{key}",
                actor=f"staff:{staff.actor.username}",
            )
            if issued.created:
                record(
                    staff,
                    session,
                    action="coupon.issue",
                    subject_type="coupon",
                    subject_id=issued.coupon.code,
                    before=None,
                    after={"template": code[:32], "member_no": member_no, "reason": reason},
                )
    except MemberkitError as exc:
        if exc.status == 404 and not member_no:
            raise
        return _template_page(staff, code, error=exc.detail(staff.locale), status_code=exc.status)
    return RedirectResponse(f"/admin/coupons/templates/{code[:32]}?done=issued", status_code=303)


async def _rows(form: FormData, file_field: str, text_field: str) -> list[list[str]]:
    """The rows of an uploaded CSV (UTF-8, a BOM allowed), or of the text box, one per line."""
    upload = form.get(file_field)
    text = ""
    if isinstance(upload, UploadFile):
        raw = await upload.read(MAX_UPLOAD + 1)
        text = raw[:MAX_UPLOAD].decode("utf-8-sig", errors="replace")
    if not text.strip():
        text = str(form.get(text_field, ""))[:MAX_UPLOAD]
    rows = [
        [cell.strip() for cell in row]
        for row in csv.reader(io.StringIO(text))
        if row and any(cell.strip() for cell in row)
    ]
    if (
        rows
        and rows[0]
        and rows[0][0].lower() in ("member_no", "phone", "code", "card", "卡号", "手机号", "券码")
    ):
        rows = rows[1:]
    return rows


@router.post("/coupons/templates/{code}/batches")
async def start_batch(staff: ManageCoupons, code: str) -> Response:
    """Start a bulk issue to a CSV list or to a filter of members; audited; shows progress."""
    form = await staff.form()
    key = str(form.get("key", ""))[:40] or secrets.token_hex(16)
    mode = form.get("mode")
    tz = staff.program.tz
    identifiers = None
    wanted = None
    try:
        if mode == "list":
            identifiers = [row[0] for row in await _rows(form, "members_file", "members")]
        else:
            first = _day(str(form.get("registered_from", "")))
            last = _day(str(form.get("registered_to", "")))
            tier = str(form.get("tier", "")).strip() or None
            if tier and not staff.program.ladder.has(tier):
                raise service.InvalidBatch(
                    problem=translate(_("there is no tier {tier}"), staff.locale, tier=tier)
                )
            wanted = queries.MemberFilter(
                tier_code=tier,
                tag=str(form.get("tag", "")).strip()[:64] or None,
                store_code=str(form.get("store", "")).strip()[:32] or None,
                since=start_of_local_day(first, tz) if first else None,
                until=start_of_local_day(last + timedelta(days=1), tz) if last else None,
            )
        with staff.work.transaction() as session:
            batch, created = service.start_batch(
                session,
                program=staff.program,
                template_code=code[:32],
                external_id=f"console-{key}",
                actor=f"staff:{staff.actor.username}",
                identifiers=identifiers,
                wanted=wanted,
            )
            if created:
                record(
                    staff,
                    session,
                    action="coupon.batch",
                    subject_type="coupon_template",
                    subject_id=code[:32],
                    before=None,
                    after={"batch": batch.id, "kind": batch.kind, "total": batch.total},
                )
            batch_id, state = batch.id, batch.state
    except MemberkitError as exc:
        if exc.status == 404:
            raise
        return _template_page(staff, code, error=exc.detail(staff.locale), status_code=exc.status)
    except ValueError:
        message = translate(_("Enter a date as YYYY-MM-DD."), staff.locale)
        return _template_page(staff, code, error=message, status_code=422)
    if state in ("pending", "running"):
        tasks.run_in_background(staff.database, program=staff.program, batch_id=batch_id)
    return RedirectResponse(f"/admin/coupons/batches/{batch_id}", status_code=303)


def _day(raw: str) -> date | None:
    return date.fromisoformat(raw.strip()) if raw.strip() else None


@router.get("/coupons/batches/{batch_id}")
def batch_page(staff: SeeCoupons, batch_id: int) -> Response:
    """A bulk issue's progress (the page reloads itself until it is finished)."""
    with staff.work.transaction() as session:
        batch = service.batch_of(session, program=staff.program, batch_id=batch_id)
        template = session.get(CouponTemplate, batch.template_id)
        assert template is not None
        session.expunge_all()
    percent = 100 if not batch.total else batch.done * 100 // batch.total
    return staff.render(
        "coupon/batch.html",
        batch=batch,
        template=template,
        percent=percent,
        batch_states=BATCH_STATES,
    )


@router.post("/coupons/templates/{code}/imports")
async def import_codes(staff: ManageCoupons, code: str) -> Response:
    """Import a partner's codes (CSV: code, optional card number); refused rows are listed."""
    form = await staff.form()
    rows = await _rows(form, "codes_file", "codes")
    try:
        with staff.work.transaction() as session:
            result = service.import_codes(
                session,
                program=staff.program,
                template_code=code[:32],
                rows=[(row[0], row[1] if len(row) > 1 and row[1] else None) for row in rows],
                actor=f"staff:{staff.actor.username}",
            )
            if result.imported:
                record(
                    staff,
                    session,
                    action="coupon.import",
                    subject_type="coupon_template",
                    subject_id=code[:32],
                    before=None,
                    after={"imported": result.imported, "refused": len(result.refused)},
                )
    except MemberkitError as exc:
        if exc.status == 404:
            raise
        return _template_page(staff, code, error=exc.detail(staff.locale), status_code=exc.status)
    said = translate(
        _("{imported} codes imported, {refused} refused."),
        staff.locale,
        imported=result.imported,
        refused=len(result.refused),
    )
    return _template_page(staff, code, done=said, refused_rows=result.refused)
