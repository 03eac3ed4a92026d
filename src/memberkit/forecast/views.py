"""The console's forecast page (预见): the fitted model, its holdout check, churn risk, refit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from memberkit.errors import Forbidden
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.forecast import queries, service
from memberkit.forecast.rules import REASONS
from memberkit.kit.i18n import _, translate

router = APIRouter(prefix="/admin/forecast", include_in_schema=False)

Reports = Annotated[StaffContext, Depends(require_action(Action.view_reports))]
Refit = Annotated[StaffContext, Depends(require_action(Action.edit_settings))]


class WholeProgramOnly(Forbidden):
    """A store-bound role asking for figures of the whole program."""

    code = "forecast_whole_program"
    message = _("The forecast covers the whole program: a role bound to stores may not see it.")


def _unbound(staff: StaffContext) -> None:
    if staff.actor.store_scope is not None:
        raise WholeProgramOnly()


#: The churn-risk histogram's bars: tenths of 1 − P(alive).
RISK_BINS = 10


def _holdout_option(rows: list[dict[str, Any]], locale: str) -> dict[str, Any]:
    """ECharts option: mean holdout purchases, actual beside predicted, by calibration repeats."""
    actual, predicted = translate(_("Actual"), locale), translate(_("Predicted"), locale)
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "data": [actual, predicted]},
        "grid": {"left": 48, "right": 16, "top": 32, "bottom": 48},
        "xAxis": {
            "type": "category",
            "name": translate(_("Repeat purchases in calibration"), locale),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": [f"{r['repeat']}+" if r["repeat"] == 7 else str(r["repeat"]) for r in rows],
        },
        "yAxis": {"type": "value"},
        "series": [
            {"name": actual, "type": "bar", "data": [r["actual"] for r in rows]},
            {"name": predicted, "type": "bar", "data": [r["predicted"] for r in rows]},
        ],
    }


def _risk_option(counts: list[int], locale: str) -> dict[str, Any]:
    """ECharts option: members by churn risk, in tenths."""
    width = 100 // RISK_BINS
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 16, "top": 16, "bottom": 48},
        "xAxis": {
            "type": "category",
            "name": translate(_("Churn risk"), locale),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": [f"{i * width}–{(i + 1) * width}%" for i in range(RISK_BINS)],
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"name": translate(_("Members"), locale), "type": "bar", "data": counts},
        ],
    }


@router.get("")
def forecast_page(staff: Reports, done: str = "") -> Response:
    """The latest fit: parameters and date, holdout chart and table, churn-risk distribution."""
    _unbound(staff)
    with staff.work.transaction() as session:
        fit = queries.latest_fit(session, program_id=staff.program.id)
        fitted = queries.latest_fitted(session, program_id=staff.program.id)
        risk = queries.churn_risk_histogram(session, program_id=staff.program.id, bins=RISK_BINS)
    shown = fitted or fit
    holdout = (shown.diagnostics.get("holdout") or {}) if shown else {}
    rows = holdout.get("by_repeat", []) if holdout.get("status") == "fitted" else []
    return staff.render(
        "forecast/forecast.html",
        fit=fit,
        fitted=fitted,
        failed_reason=(
            translate(REASONS.get(fit.message, fit.message), staff.locale)
            if fit is not None and fit.status == "failed"
            else None
        ),
        holdout=holdout,
        holdout_rows=rows,
        holdout_option=_holdout_option(rows, staff.locale) if rows else None,
        risk=risk,
        risk_total=sum(risk),
        risk_option=_risk_option(risk, staff.locale),
        risk_width=100 // RISK_BINS,
        may_refit=staff.actor.may(Action.edit_settings),
        done=done == "fitted",
    )


@router.post("/fit")
async def refit(staff: Refit) -> Response:
    """Fit now (the service ``POST /api/v1/forecast/fit`` calls); audited, then back to the page."""
    _unbound(staff)
    await staff.form()
    with staff.database.analytics_scope() as reader, staff.work.transaction() as session:
        fit = service.fit(session, program=staff.program, reader=reader)
        record(
            staff,
            session,
            action="forecast.fit",
            subject_type="forecast_fit",
            subject_id=fit.id,
            before=None,
            after={"status": fit.status, "message": fit.message, "members": fit.members_used},
        )
    return RedirectResponse("/admin/forecast?done=fitted", status_code=303)
