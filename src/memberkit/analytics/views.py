"""The console's RFM page (/admin/rfm): thresholds, the eight classes, R × F, lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from memberkit.analytics import service
from memberkit.analytics.endpoints import overview_out
from memberkit.analytics.rfm import CLASS_NAMES, ActiveClass, RfmClass
from memberkit.analytics.rules import LIFECYCLE_NAMES, Lifecycle
from memberkit.analytics.schemas import RfmOverviewOut
from memberkit.faces.pages import Action, may_do, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate

router = APIRouter(prefix="/admin/rfm", include_in_schema=False)

Reports = Annotated[StaffContext, Depends(require_action(Action.view_reports))]
Settings = Annotated[StaffContext, Depends(require_action(Action.edit_settings))]

ACTIVE_NAMES: dict[ActiveClass, str] = {
    ActiveClass.loyal: _("loyal customers"),
    ActiveClass.opportunity: _("opportunity customers"),
    ActiveClass.random: _("random customers"),
}


def _bar(labels: list[str], values: list[int]) -> dict[str, Any]:
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 150, "right": 30, "top": 10, "bottom": 30},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "series": [{"type": "bar", "data": values, "label": {"show": True, "position": "right"}}],
    }


def _heat(view: RfmOverviewOut, locale: str) -> dict[str, Any]:
    cells = [[cell.f - 1, cell.r - 1, cell.members] for cell in view.grid]
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 60, "right": 20, "top": 10, "bottom": 80},
        "xAxis": {
            "type": "category",
            "name": translate(_("F score"), locale),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": ["1", "2", "3", "4", "5"],
        },
        "yAxis": {
            "type": "category",
            "name": translate(_("R score"), locale),
            "data": ["1", "2", "3", "4", "5"],
        },
        "visualMap": {
            "min": 0,
            "max": max([c[2] for c in cells] + [1]),
            "calculable": True,
            "orient": "horizontal",
            "left": "center",
            "bottom": 0,
        },
        "series": [{"type": "heatmap", "data": cells, "label": {"show": True}}],
    }


def _page(staff: StaffContext, *, refreshed: bool = False) -> Response:
    scope = staff.actor.store_scope
    with staff.work.transaction() as session:
        view = overview_out(
            service.overview(
                session, program=staff.program, stores=None if scope is None else sorted(scope)
            )
        )
    locale = staff.locale
    scored = sum(view.classes[c.value] for c in RfmClass)
    classes = [
        (c.value, translate(CLASS_NAMES[c], locale), view.classes[c.value]) for c in RfmClass
    ]
    active = [
        (c.value, translate(ACTIVE_NAMES[c], locale), view.active_classes[c.value])
        for c in ActiveClass
    ]
    states = [
        (s.value, translate(LIFECYCLE_NAMES[s], locale), view.lifecycle[s.value]) for s in Lifecycle
    ]
    return staff.render(
        "analytics/rfm.html",
        view=view,
        scored=scored,
        classes=classes,
        active=active,
        states=states,
        class_option=_bar([c[1] for c in classes], [c[2] for c in classes]),
        heat_option=_heat(view, locale),
        lifecycle_option=_bar([s[1] for s in states], [s[2] for s in states]),
        may_refresh=may_do(staff, Action.edit_settings) and scope is None,
        refreshed=refreshed,
        stores=sorted(scope) if scope is not None else None,
    )


@router.get("")
def rfm_page(staff: Reports, refreshed: str = "") -> Response:
    """The program's RFM as of the last refresh; a store-bound role counts its stores' members."""
    return _page(staff, refreshed=refreshed == "1")


@router.post("/refresh")
async def refresh_now(staff: Settings) -> Response:
    """Refresh every member's RFM now (the daily job's work), audited; back to the page."""
    await staff.form()
    with staff.work.transaction() as session:
        done = service.refresh(session, program=staff.program)
        record(
            staff,
            session,
            action="rfm.refresh",
            subject_type="program",
            subject_id=staff.program.id,
            before=None,
            after={"as_of": done.as_of.isoformat(), "members": done.members},
        )
    return RedirectResponse("/admin/rfm?refreshed=1", status_code=303)
