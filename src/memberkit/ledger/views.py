"""The console's liability page (负债): what the program owes its members at a day's end."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from memberkit.faces.pages import Action
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.kit.time import today
from memberkit.ledger import liability
from memberkit.ledger.queries import LIABILITY_HORIZONS

router = APIRouter(prefix="/admin/liability", include_in_schema=False)

Reports = Annotated[StaffContext, Depends(require_action(Action.view_reports))]


@router.get("")
def liability_page(staff: Reports, on: str = "") -> Response:
    """The liability at the end of a day: points, their value, stored value, what expires.

    The same report as ``GET /api/v1/liability``; a store-bound role sees its stores' members.
    """
    error = None
    wanted: date | None = None
    if on:
        try:
            wanted = date.fromisoformat(on[:10])
        except ValueError:
            error = translate(_("Enter a date as YYYY-MM-DD."), staff.locale)
        else:
            if not date(2000, 1, 1) <= wanted <= date(2999, 12, 31):
                wanted, error = None, translate(_("Enter a date as YYYY-MM-DD."), staff.locale)
    scope = staff.actor.store_scope
    with staff.work.transaction() as session:
        report = liability.report(
            session, program=staff.program, on=wanted, stores=None if scope is None else scope
        )
    return staff.render(
        "ledger/liability.html",
        status_code=422 if error else 200,
        report=report,
        horizons=LIABILITY_HORIZONS,
        error=error,
        entered=on[:10] if error else report.on.isoformat(),
        today=today(staff.program.tz).isoformat(),
    )
