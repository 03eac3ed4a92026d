"""Benefit pages: the catalog on the console, verifying (核销) at the till, the member panel.

Every form calls the service the benefits API calls and writes an audit entry in the
change's own transaction. At the till the store is the signed-in staff member's, never a
form field; a verification runs once per form key under the API's key scheme
(:func:`memberkit.kit.keys.benefit_use`), so a double tap verifies once. The console's
changes are idempotent by what they say (a definition by its code, a change or the grants by
their values), so they carry no key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.benefit import service
from memberkit.benefit.models import Benefit
from memberkit.benefit.rules import SYSTEM_KINDS, WHOLE, BenefitKind, Period, is_applied
from memberkit.benefit.schemas import BenefitIn, BenefitPatch, GrantBody
from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, may_do, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.member.models import Member
from memberkit.member.panels import Panel, Seen, register
from memberkit.member.views import field_errors, read_form

router = APIRouter(prefix="/admin/benefits", include_in_schema=False)

Readers = Annotated[StaffContext, Depends(require_action(Action.view_settings))]
Managers = Annotated[StaffContext, Depends(require_action(Action.manage_benefits))]

KIND_NAMES: dict[str, str] = {
    BenefitKind.discount: _("tier discount"),
    BenefitKind.member_price: _("member prices"),
    BenefitKind.free_shipping: _("free shipping"),
    BenefitKind.birthday_gift: _("birthday gift"),
    BenefitKind.parking: _("free parking"),
    BenefitKind.priority: _("priority service"),
    BenefitKind.lounge: _("lounge"),
    BenefitKind.upgrade: _("upgrade"),
    BenefitKind.custom: _("other"),
}
PERIOD_NAMES: dict[str, str] = {
    Period.day: _("a day"),
    Period.week: _("a week"),
    Period.month: _("a month"),
    Period.quarter: _("a quarter"),
    Period.year: _("a year"),
    Period.once: _("while in the tier"),
}
#: What the catalog says after each of its forms' changes.
DONE = {
    "define": _("The benefit was defined."),
    "change": _("The benefit was saved."),
    "delete": _("The benefit was deleted."),
    "grant": _("The tiers' grants were saved."),
}
#: How many of a member's latest uses the till and the member page list.
USES_SHOWN = 10


def names(staff: StaffContext) -> dict[str, Any]:
    """The kinds' and periods' names in the staff member's language, for every page."""
    return {
        "kind_names": {k: translate(v, staff.locale) for k, v in KIND_NAMES.items()},
        "period_names": {k: translate(v, staff.locale) for k, v in PERIOD_NAMES.items()},
    }


def _snapshot(benefit: Benefit) -> dict[str, Any]:
    """A benefit as the audit log keeps it."""
    return {
        "code": benefit.code,
        "kind": benefit.kind,
        "name": benefit.name,
        "description": benefit.description,
        "icon": benefit.icon,
        "active": benefit.active,
    }


def _grants(grants: list[service.GrantIn]) -> list[dict[str, Any]]:
    return [
        {"tier": g.tier_code, "quota": g.quota, "period": str(g.period), "value": g.value}
        for g in grants
    ]


# --- the catalog (console) -----------------------------------------------------------------


def _catalog(
    staff: StaffContext,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    entered: Mapping[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    """The catalog page: every benefit with its grants by tier, and the forms to change them."""
    with staff.work.transaction() as session:
        benefits = [
            {
                **_snapshot(view.benefit),
                "system": view.system,
                "applied": is_applied(BenefitKind(view.benefit.kind)),
                "grants": {g.tier_code: g for g in view.grants},
            }
            for view in service.catalog(session, program=staff.program)
        ]
    return staff.render(
        "benefit/catalog.html",
        status_code=status_code,
        benefits=benefits,
        tiers=[(tier.code, tier.name) for tier in staff.program.ladder.tiers],
        periods=list(Period),
        kinds=[kind for kind in BenefitKind if kind not in SYSTEM_KINDS],
        may_manage=may_do(staff, Action.manage_benefits),
        errors=errors or {},
        error=error,
        entered=entered or {"code": "", "kind": "parking", "name": "", "description": ""},
        done=done,
        done_messages=DONE,
        whole=WHOLE,
        **names(staff),
    )


#: A console change: in the transaction, ``(benefit code, before, after)`` for the audit.
Change = Callable[[Session], tuple[str, Any, Any]]


def _changed(
    staff: StaffContext,
    done: str,
    change: Change,
    *,
    entered: Mapping[str, str] | None = None,
) -> Response:
    """Make one change of the catalog, audited as ``benefit.<done>`` when it changed anything.

    A refusal is said on the page and changes nothing; success shows the catalog again.
    """
    try:
        with staff.work.transaction() as session:
            code, before, after = change(session)
            if after != before:
                record(
                    staff,
                    session,
                    action=f"benefit.{done}",
                    subject_type="benefit",
                    subject_id=code,
                    before=before,
                    after=after,
                )
    except MemberkitError as exc:
        return _catalog(
            staff, error=exc.detail(staff.locale), entered=entered, status_code=exc.status
        )
    return RedirectResponse(f"/admin/benefits?done={done}", status_code=303)


@router.get("")
def catalog_page(staff: Readers, done: str | None = None) -> Response:
    """Every benefit, its kind and whether the platform applies it, and its grants by tier."""
    return _catalog(staff, done=done if done in DONE else None)


@router.post("")
async def define_benefit(staff: Managers) -> Response:
    """Define a benefit the stores verify, as ``POST /api/v1/benefits`` does; audited."""
    form = await read_form(staff)
    entered = {name: form.get(name, "").strip() for name in ("code", "kind", "name", "description")}
    try:
        body = BenefitIn.model_validate(
            {**entered, "icon": form.get("icon", "").strip() or "ti-gift"}
        )
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix="define")
        return _catalog(staff, errors=errors, entered=entered, status_code=422)

    def change(session: Session) -> tuple[str, Any, Any]:
        made, created = service.define(
            session,
            program=staff.program,
            code=body.code,
            kind=body.kind,
            name=body.name,
            description=body.description,
            icon=body.icon,
        )
        return made.code, None, _snapshot(made) if created else None

    return _changed(staff, "define", change, entered=entered)


def _found(session: Session, staff: StaffContext, code: str) -> service.BenefitView:
    view = next(
        (v for v in service.catalog(session, program=staff.program) if v.benefit.code == code),
        None,
    )
    if view is None:
        raise service.BenefitNotFound(code=code)
    return view


@router.post("/{code}")
async def change_benefit(staff: Managers, code: str) -> Response:
    """Change a benefit's name, description, icon or switch, as the API's PATCH does; audited.

    A system benefit changes only its name and description.
    """
    form = await read_form(staff)
    code = code[:32]
    raw: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip(),
        "icon": form.get("icon", "").strip() or None,
        "active": form.get("active") == "on",
    }
    try:
        patch = BenefitPatch.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix=code)
        return _catalog(staff, errors=errors, status_code=422)

    def change(session: Session) -> tuple[str, Any, Any]:
        view = _found(session, staff, code)
        before = _snapshot(view.benefit)
        changed = service.change(
            session,
            program=staff.program,
            code=code,
            name=patch.name,
            description=patch.description,
            icon=None if view.system else patch.icon,
            active=None if view.system else patch.active,
        )
        return code, before, _snapshot(changed)

    return _changed(staff, "change", change)


@router.post("/{code}/delete")
async def delete_benefit(staff: Managers, code: str) -> Response:
    """Delete a benefit never used (a used one is refused: switch it off); audited."""
    await read_form(staff)
    code = code[:32]

    def change(session: Session) -> tuple[str, Any, Any]:
        view = _found(session, staff, code)
        before = {**_snapshot(view.benefit), "grants": _grants(view.grants)}
        service.delete(session, program=staff.program, code=code)
        return code, before, None

    return _changed(staff, "delete", change)


def _grants_sent(
    staff: StaffContext, code: str, form: Mapping[str, str]
) -> tuple[list[service.GrantIn], dict[str, str]]:
    """The grants form as the grants API reads it: one grant per tier ticked; errors by field."""
    grants: list[service.GrantIn] = []
    errors: dict[str, str] = {}
    for tier in staff.program.ladder.tiers:
        if form.get(f"on-{tier.code}") != "on":
            continue
        raw = {
            "tier": tier.code,
            "quota": form.get(f"quota-{tier.code}", "").strip() or None,
            "period": form.get(f"period-{tier.code}", "").strip() or Period.month,
            "value": form.get(f"value-{tier.code}", "").strip() or 0,
        }
        try:
            body = GrantBody.model_validate(raw)
        except ValidationError as exc:
            errors |= field_errors(exc, staff.locale, prefix=f"{code}.{tier.code}")
            continue
        grants.append(service.GrantIn(body.tier, body.quota, body.period, body.value))
    return grants, errors


@router.post("/{code}/grants")
async def grant_benefit(staff: Managers, code: str) -> Response:
    """Replace which tiers have the benefit, as ``PUT …/grants`` does; audited.

    Each tier ticked gets a grant: its quota (empty: no limit), period and value.
    """
    form = await read_form(staff)
    code = code[:32]
    grants, errors = _grants_sent(staff, code, form)
    if errors:
        return _catalog(staff, errors=errors, status_code=422)

    def change(session: Session) -> tuple[str, Any, Any]:
        before = _grants(_found(session, staff, code).grants)
        service.grant(session, program=staff.program, code=code, grants=grants)
        return code, before, _grants(grants)

    return _changed(staff, "grant", change)


# --- the member's benefits (member page panel and till) ------------------------------------


def of_member(session: Session, program: Any, member: Member) -> list[dict[str, Any]]:
    """The benefits of the member's tier with what is left, as the member's API answers."""
    return [
        {
            "code": item.benefit.code,
            "kind": item.benefit.kind,
            "name": item.benefit.name,
            "description": item.benefit.description,
            "icon": item.benefit.icon,
            "system": item.benefit.kind in SYSTEM_KINDS,
            "applied": is_applied(BenefitKind(item.benefit.kind)),
            "quota": item.grant.quota,
            "period": str(item.grant.period),
            "value": item.grant.value,
            "used": item.used,
            "left": item.left,
            "renews_at": item.renews_at,
        }
        for item in service.of_member(session, program=program, member=member)
    ]


def _panel(session: Session, seen: Seen) -> dict[str, Any]:
    """The member page's benefits panel: what is left of each, and the last uses (read-only)."""
    uses = (
        service.uses(session, program=seen.program, member=seen.member, limit=USES_SHOWN)
        if seen.in_scope
        else []
    )
    return {
        "benefits": of_member(session, seen.program, seen.member),
        "uses": uses,
        "periods": PERIOD_NAMES,
    }


register(Panel("benefits", "benefit/panel.html", _panel, order=25))
