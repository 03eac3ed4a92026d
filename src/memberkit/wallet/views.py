"""The wallet's part of the console's member page: balances, recharges, paying one back.

(Paying a recharge back at the cashier screen is the till's page, :mod:`memberkit.pos.wallet`.)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.faces.pages import Action
from memberkit.kit.i18n import _
from memberkit.kit.time import utcnow
from memberkit.member.models import Member
from memberkit.member.panels import Panel, Seen, register
from memberkit.member.views import Viewer, act, field_errors, page, read_form
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
