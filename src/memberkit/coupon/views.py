"""Console pages of coupons, and the coupons panel of the member page.

Templates (list, create, edit), issuing by hand, bulk issues with their progress, imports of
a partner's codes, and the report; each form calls the service the API calls, audited.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from memberkit.coupon import service
from memberkit.kit.i18n import _
from memberkit.member.panels import Panel, Seen, register

router = APIRouter(prefix="/admin/coupons", include_in_schema=False)

#: How each state of a held coupon is called on the pages.
STATE_NAMES = {
    "available": _("available"),
    "used": _("used"),
    "expired": _("expired"),
    "revoked": _("revoked"),
}


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's coupons, as ``GET /api/v1/members/{no}/coupons`` reads them."""
    held = (
        service.of_member(session, program=seen.program, member_no=seen.member.member_no)
        if seen.in_scope
        else []
    )
    return {"coupons": held, "state_names": STATE_NAMES}


register(Panel("coupons", "coupon/panel.html", _load, order=25))
