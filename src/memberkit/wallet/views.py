"""The wallet's pages: the member page's panel, and paying a recharge back at the till.

The console's member page shows balances and recharges, and pays one back; the cashier screen
pays back a recharge at the store that took it.
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
from memberkit.member.models import Member
from memberkit.member.panels import Panel, Seen, register
from memberkit.member.views import Viewer, act, field_errors, page, read_form
from memberkit.pos.views import _KEY, FIELD_MAX, Till, _member, _shown, _store, _text, new_key
from memberkit.wallet import service
from memberkit.wallet.models import RechargeMethod
from memberkit.wallet.schemas import WalletRefundIn

router = APIRouter(prefix="/admin/members", include_in_schema=False)

#: How money comes in and goes back, as the form names it (as the cashier screen does).
METHOD_NAMES = {
    RechargeMethod.cash: _("Cash"),
    RechargeMethod.wechat: _("WeChat Pay"),
    RechargeMethod.alipay: _("Alipay"),
    RechargeMethod.card: _("Bank card"),
}


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's wallet, as ``GET /api/v1/members/{no}/wallet`` reads it, and recharges."""
    member_no = seen.member.member_no
    lines = (
        service.recharges(session, program=seen.program, member_no=member_no)
        if seen.in_scope
        else []
    )
    return {
        "wallet": service.view(session, program_id=seen.program.id, member_no=member_no),
        "recharges": [
            (
                line,
                line.refundable_minor > 0
                and seen.actor.may(Action.refund_wallet, store_code=line.store_code),
            )
            for line in lines
        ],
        "methods": [(method, name) for method, name in METHOD_NAMES.items()],
    }


register(Panel("wallet", "wallet/panel.html", _load, order=20))


@router.post("/{member_no}/wallet/{recharge_id}/refund")
async def refund_recharge(staff: Viewer, member_no: str, recharge_id: str) -> Response:
    """Pay back unspent principal of one recharge (owners, admins, the store's manager).

    The same service as ``POST /api/v1/members/{no}/wallet/recharges/{id}/refunds``: within
    the program's refund window, the bonus forfeited in proportion; once per form key, audited.
    A store manager pays back only recharges taken at their stores.
    """
    form = await read_form(staff)
    try:
        body = WalletRefundIn.model_validate(
            {
                "external_id": f"console-{form.get('key', '')}"[:100],
                "amount": form.get("amount", "").strip() or None,
                "method": form.get("method", "").strip() or None,
                "reason": form.get("reason", ""),
                "occurred_at": utcnow(),
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix="wallet-refund")
        return page(staff, member_no[:20], errors=errors, status_code=422)
    recharge_id = recharge_id[:100]

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        store_code = service.recharge_store(
            session, program=staff.program, member=member, external_id=recharge_id
        )
        # The store that took it answers for paying it back; an online one: chain-wide roles.
        staff.actor.require(Action.refund_wallet, store_code=store_code)
        before = service.balance(session, member_id=member.id)
        paid = service.refund_recharge(
            session,
            program=staff.program,
            member_no=member.member_no,
            recharge_external_id=recharge_id,
            external_id=body.external_id,
            amount_minor=body.amount,
            method=body.method,
            reason=body.reason,
            store_code=store_code if staff.actor.store_scope is not None else None,
            occurred_at=body.occurred_at,
        )
        after = {
            "recharge": recharge_id,
            "amount": paid.amount_minor,
            "bonus_forfeited": paid.bonus_forfeited_minor,
            "method": paid.method,
            "reason": body.reason,
            "wallet": {"principal": paid.wallet.principal, "bonus": paid.wallet.bonus},
        }
        wallet = {"principal": before.principal, "bonus": before.bonus}
        return {"wallet": wallet}, after, {"amount": paid.amount_minor}

    return act(
        staff,
        member_no,
        action=Action.refund_wallet,
        name="wallet-refund",
        form=form,
        change=change,
    )


# --- the cashier screen: paying a recharge back at the store that took it -----------------

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
        member = _member(staff, session, member_no)
        shown = _shown(staff, session, member)
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
        "wallet/pos.html",
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
    store_code = _store(staff, Action.refund_wallet, form)
    member_no, recharge_id, key = (_text(form, name) for name in ("member", "recharge", "key"))
    if not _KEY.fullmatch(key) or not recharge_id:
        error = translate(_("This form is out of date: identify the member again."), staff.locale)
        return _till_page(staff, member_no, status_code=422, error=error)
    try:
        body = WalletRefundIn.model_validate(
            {
                "external_id": f"POSWR-{key}",
                "amount": _text(form, "amount") or None,
                "method": _text(form, "method") or None,
                "reason": _text(form, "reason"),
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
