"""The cashier screen's stored-value page: paying a recharge back at the store that took it.

The member's recharges at this store are listed with what each could be paid back of now;
the store's manager (not a cashier) pays one back through the service the API and the
console use (:func:`memberkit.wallet.service.refund_recharge`), once per form key, audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext
from memberkit.kit import keys
from memberkit.kit.i18n import _, translate
from memberkit.kit.time import utcnow
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
from memberkit.wallet import service
from memberkit.wallet.schemas import WalletRefundIn
from memberkit.wallet.views import METHOD_NAMES

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
    """The member's recharges at this store, with what each could be paid back of now."""
    store_code = staff.store_code
    with staff.work.transaction() as session:
        member = member_named(staff, session, member_no)
        shown = member_shown(staff, session, member)
        lines = [
            line
            for line in service.recharges(
                session, program=staff.program, member_no=member.member_no
            )
            if store_code is not None and line.store_code == store_code
        ]
    may_refund = store_code is not None and staff.actor.may(
        Action.refund_wallet, store_code=store_code
    )
    return staff.render(
        "pos/wallet.html",
        status_code=status_code,
        member=shown,
        recharges=lines,
        may_refund=may_refund,
        store_code=store_code,
        methods=[(method, name) for method, name in METHOD_NAMES.items()],
        keys={line.external_id: new_key() for line in lines},
        done=done,
        error=error,
        errors=errors or {},
    )


@pos_router.get("/wallet")
def till_wallet(staff: Till, m: str = "") -> Response:
    """The identified member's recharges at this store, and paying one back (store managers)."""
    return _till_page(staff, m.strip()[:FIELD_MAX])


@pos_router.post("/wallet/refund")
async def till_refund(staff: Till) -> Response:
    """Pay back unspent principal of a recharge this store took, once per form key; audited.

    The same service as the API's and the console's: within the program's refund window, the
    bonus forfeited in proportion. Paying money out is the store manager's (not a cashier's).
    """
    form = await staff.form()
    store_code = till_store(staff, Action.refund_wallet, form)
    member_no, recharge_id, key = (form_text(form, name) for name in ("member", "recharge", "key"))
    if not FORM_KEY.fullmatch(key) or not recharge_id:
        error = translate(_("This form is out of date: identify the member again."), staff.locale)
        return _till_page(staff, member_no, status_code=422, error=error)
    try:
        body = WalletRefundIn.model_validate(
            {
                "external_id": f"POSWR-{key}",
                "amount": form_text(form, "amount") or None,
                "method": form_text(form, "method") or None,
                "reason": form_text(form, "reason"),
                "occurred_at": utcnow(),
            }
        )
    except ValidationError as exc:
        # Said beside the field of that recharge's form: "<field>-<recharge>".
        errors = {
            f"{name.removeprefix('refund.')}-{recharge_id}": message
            for name, message in field_errors(exc, staff.locale, prefix="refund").items()
        }
        return _till_page(staff, member_no, status_code=422, errors=errors)

    def action(session: Session) -> dict[str, Any]:
        paid = service.refund_recharge(
            session,
            program=staff.program,
            member_no=member_no,
            recharge_external_id=recharge_id,
            external_id=body.external_id,
            amount_minor=body.amount,
            method=body.method,
            reason=body.reason,
            store_code=store_code,
            occurred_at=body.occurred_at,
        )
        done = {
            "recharge": recharge_id,
            "amount": paid.amount_minor,
            "bonus_forfeited": paid.bonus_forfeited_minor,
            "method": paid.method,
            "reason": body.reason,
            "store_code": store_code,
            "wallet": paid.wallet.total,
        }
        record(
            staff,
            session,
            action="wallet.refund",
            subject_type="member",
            subject_id=member_no,
            before=None,
            after=done,
        )
        return done

    try:
        outcome = staff.work.once(
            key=keys.wallet_refund(body.external_id),
            request={"amount": body.amount, "method": body.method, "reason": body.reason},
            action=action,
            subject=f"{member_no}/{recharge_id}",
        )
    except MemberkitError as exc:
        return _till_page(staff, member_no, status_code=exc.status, error=exc.detail(staff.locale))
    return _till_page(staff, member_no, done=outcome.body)
