"""The cashier screen's benefits page: verifying (核销) a member's benefits at the till.

The identified member's benefits with what is left this period; a verify form for each one
the store verifies, and this store's latest uses with undo — through the service the API uses
(:mod:`memberkit.benefit.service`), once per form key, audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.benefit import service
from memberkit.benefit import views as benefit_views
from memberkit.benefit.schemas import UndoIn
from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext
from memberkit.kit import keys
from memberkit.kit.i18n import _, translate
from memberkit.member.models import MemberStatus
from memberkit.member.views import field_errors
from memberkit.pos.views import (
    FIELD_MAX,
    FORM_KEY,
    Till,
    form_text,
    member_named,
    member_shown,
    new_key,
    till_store,
)

pos_router = APIRouter(prefix="/pos", include_in_schema=False)


def _till_page(
    staff: StaffContext,
    member_no: str,
    *,
    status_code: int = 200,
    done: dict[str, Any] | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The till's benefits page of a member: what is left, verify forms, this store's uses."""
    store_code = staff.store_code
    with staff.work.transaction() as session:
        member = member_named(staff, session, member_no)
        shown = member_shown(staff, session, member)
        benefits = benefit_views.of_member(session, staff.program, member)
        uses = (
            service.uses(
                session,
                program=staff.program,
                member=member,
                store_code=store_code,
                limit=benefit_views.USES_SHOWN,
            )
            if store_code is not None
            else []
        )
        active = member.status == MemberStatus.active
    may_use = store_code is not None and staff.actor.may(Action.use_benefits, store_code=store_code)
    return staff.render(
        "pos/benefits.html",
        status_code=status_code,
        member=shown,
        active=active,
        benefits=benefits,
        names={b["code"]: b["name"] for b in benefits},
        uses=uses,
        may_use=may_use,
        store_code=store_code,
        keys={b["code"]: new_key() for b in benefits},
        done=done,
        error=error,
        errors=errors or {},
        **benefit_views.names(staff),
    )


@pos_router.get("/benefits")
def till_benefits(staff: Till, m: str = "") -> Response:
    """The identified member's benefits at the till, what is left of each and when it renews.

    A verify form for each benefit the store verifies, and this store's latest uses.
    """
    return _till_page(staff, m.strip()[:FIELD_MAX])


def _out_of_date(staff: StaffContext, member_no: str) -> Response:
    error = translate(_("This form is out of date: identify the member again."), staff.locale)
    return _till_page(staff, member_no, status_code=422, error=error)


def _at_till(
    staff: StaffContext,
    member_no: str,
    what: str,
    key: str,
    request: dict[str, Any],
    change: Callable[[Session], dict[str, Any]],
) -> Response:
    """Run a use or an undo once per key, audited as ``benefit.<what>``; show what it did.

    A repeat of the key answers the first result; a refusal is said on the page.
    """

    def action(session: Session) -> dict[str, Any]:
        body = {"member_no": member_no, **change(session)}
        record(
            staff,
            session,
            action=f"benefit.{what}",
            subject_type="member",
            subject_id=member_no,
            before=None,
            after=body,
        )
        return body

    try:
        outcome = staff.work.once(key=key, request=request, action=action, subject=member_no)
    except MemberkitError as exc:
        return _till_page(staff, member_no, status_code=exc.status, error=exc.detail(staff.locale))
    return _till_page(staff, member_no, done={"what": what, **outcome.body})


@pos_router.post("/benefits/use")
async def use_benefit(staff: Till) -> Response:
    """Verify (核销) a benefit at this store, once per form key, within the tier's quota."""
    form = await staff.form()
    store_code = till_store(staff, Action.use_benefits, form)
    member_no, code, key = (
        form_text(form, "member"),
        form_text(form, "benefit"),
        form_text(form, "key"),
    )
    if not FORM_KEY.fullmatch(key) or not code or len(code) > 32:
        return _out_of_date(staff, member_no)
    raw = form_text(form, "quantity") or "1"
    if not raw.isdecimal() or len(raw) > 3 or not 1 <= int(raw) <= 100:
        message = translate(_("Enter a whole number from 1 to {most}."), staff.locale, most=100)
        return _till_page(staff, member_no, status_code=422, errors={f"quantity-{code}": message})
    quantity = int(raw)
    external_id = f"POSB-{key}"

    def use(session: Session) -> dict[str, Any]:
        result = service.use(
            session,
            program=staff.program,
            member_no=member_no,
            code=code,
            external_id=external_id,
            quantity=quantity,
            store_code=store_code,
            actor=f"staff:{staff.actor.username}",
        )
        return {
            "external_id": result.external_id,
            "benefit": code,
            "quantity": quantity,
            "store_code": store_code,
            "left": result.left,
        }

    request = {"benefit": code, "quantity": quantity}
    return _at_till(staff, member_no, "use", keys.benefit_use(external_id), request, use)


@pos_router.post("/benefits/undo")
async def undo_use(staff: Till) -> Response:
    """Undo a use made at this store within the program's undo window, with a reason."""
    form = await staff.form()
    store_code = till_store(staff, Action.use_benefits, form)
    member_no, use_id = form_text(form, "member"), form_text(form, "use")
    if not use_id or len(use_id) > FIELD_MAX:
        return _out_of_date(staff, member_no)
    try:
        reason = UndoIn.model_validate({"reason": form_text(form, "reason")}).reason
    except ValidationError as exc:
        errors = {
            f"reason-{use_id}": message
            for message in field_errors(exc, staff.locale, prefix="undo").values()
        }
        return _till_page(staff, member_no, status_code=422, errors=errors)

    def undo(session: Session) -> dict[str, Any]:
        result = service.undo(
            session,
            program=staff.program,
            member_no=member_no,
            external_id=use_id,
            reason=reason,
            store_code=store_code,
        )
        return {
            "external_id": use_id,
            "benefit": result.benefit_code,
            "quantity": result.quantity,
            "store_code": store_code,
            "reason": reason,
            "left": result.left,
        }

    request = {"reason": reason}
    return _at_till(staff, member_no, "undo", keys.benefit_undo(use_id), request, undo)
