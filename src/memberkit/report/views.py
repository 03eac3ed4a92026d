"""The console's report pages (报表): filters, ECharts charts, tables, one-click Excel and PDF."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from memberkit.errors import MemberkitError
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.report import reading
from memberkit.report.document import TITLES, Chart, Document, cell
from memberkit.report.rules import Grain
from memberkit.staff.rules import Action

router = APIRouter(prefix="/admin/reports", include_in_schema=False)

Reports = Annotated[StaffContext, Depends(require_action(Action.view_reports))]
#: The query names the filter form sends, and their longest text.
FIELDS = {"from": 10, "to": 10, "grain": 8, "store": 32, "tier": 32}


def _asked(request: Request) -> dict[str, str]:
    return {
        name: request.query_params.get(name, "").strip()[:most] for name, most in FIELDS.items()
    }


def _run(staff: StaffContext, name: str, typed: dict[str, str]) -> reading.Outcome:
    if name not in reading.REPORTS:
        raise reading.UnknownReport()
    scope = staff.actor.store_scope
    return reading.run(
        staff.database,
        name=name,
        program=staff.program,
        asked=reading.filters(
            staff.program,
            date_from=reading.parse_day(typed["from"]),
            date_to=reading.parse_day(typed["to"]),
            grain=typed["grain"] or None,
            store=typed["store"] or None,
            tier=typed["tier"] or None,
        ),
        viewer=None if scope is None else sorted(scope),
        locale=staff.locale,
    )


@router.get("/{name}.{fmt}")
def report_file(name: str, fmt: str, request: Request, staff: Reports) -> Response:
    """The report as .xlsx or .pdf, for the filters of the page (一键生成)."""
    if fmt not in reading.FORMATS:
        raise reading.UnknownReport()
    outcome = _run(staff, name, _asked(request))
    content, media, filename = reading.exported(outcome, fmt)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/{name}")
def report_page(name: str, request: Request, staff: Reports) -> Response:
    """A report's page: the filters, each section's chart and table, the export buttons.

    The same report as ``GET /api/v1/reports/<name>``; a store-bound role sees its stores'
    figures, and a filter naming another store is refused beside the field.
    """
    if name not in reading.REPORTS:
        raise reading.UnknownReport()
    typed = _asked(request)
    error: str | None = None
    status = 200
    document: Document | None = None
    try:
        outcome = _run(staff, name, typed)
        document = outcome.document
        filters = outcome.report.filters
        typed = {
            **typed,
            "from": filters.date_from.isoformat(),
            "to": filters.date_to.isoformat(),
            "grain": filters.grain,
        }
    except MemberkitError as exc:
        error, status = exc.detail(staff.locale), exc.status
    scope = staff.actor.store_scope
    query = urlencode({key: value for key, value in typed.items() if value})
    return staff.render(
        "report/report.html",
        status_code=status,
        name=name,
        title=translate(TITLES[name], staff.locale),
        document=document,
        sections=[]
        if document is None
        else [
            (section, _option(section.chart, staff.locale) if section.chart else None, rows)
            for section in document.sections
            for rows in [
                [
                    [cell(v, c.kind) for v, c in zip(row, section.columns, strict=True)]
                    for row in section.rows
                ]
            ]
        ],
        typed=typed,
        error=error,
        grains=[(g.value, translate(_label(g), staff.locale)) for g in Grain],
        tiers=[(tier.code, tier.name) for tier in staff.program.ladder.tiers],
        stores=sorted(scope) if scope is not None else None,
        query=query,
        reports=[(key, translate(TITLES[key], staff.locale)) for key in reading.REPORTS],
    )


def _label(grain: Grain) -> str:
    return {Grain.day: _("by day"), Grain.week: _("by week"), Grain.month: _("by month")}[grain]


def _yuan(minor: Any) -> str:
    """Minor units as a plain decimal string ("1234.50"), as a chart reads it (no float)."""
    value = int(minor or 0)
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"


def _value(value: Any, money: bool) -> Any:
    if value is None:
        return None
    return _yuan(value) if money else str(value) if not isinstance(value, int) else value


def _option(chart: Chart, locale: str) -> dict[str, Any]:
    """The ECharts option of a section's chart."""
    if chart.kind == "pie":
        name, values = chart.series[0]
        return {
            "tooltip": {"trigger": "item"},
            "legend": {"top": 0},
            "series": [
                {
                    "name": name,
                    "type": "pie",
                    "radius": ["35%", "65%"],
                    "top": 30,
                    "data": [
                        {"name": label, "value": _value(v, chart.money)}
                        for label, v in zip(chart.categories, values, strict=True)
                    ],
                }
            ],
        }
    if chart.kind == "heatmap":
        data = [
            [c, r, None if v is None else str((v * 100).quantize(1))]
            for r, (_label_, values) in enumerate(chart.series)
            for c, v in enumerate(values)
        ]
        return {
            "tooltip": {"position": "top"},
            "grid": {"left": 80, "right": 20, "top": 20, "bottom": 80},
            "xAxis": {"type": "category", "data": chart.categories},
            "yAxis": {"type": "category", "data": chart.rows, "inverse": True},
            "visualMap": {
                "min": 0,
                "max": 100,
                "calculable": True,
                "orient": "horizontal",
                "left": "center",
                "bottom": 0,
                "text": ["100%", "0%"],
            },
            "series": [
                {
                    "name": translate(_("Retention (%)"), locale),
                    "type": "heatmap",
                    "data": [cell_ for cell_ in data if cell_[2] is not None],
                    "label": {"show": True},
                }
            ],
        }
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": chart.categories},
        "yAxis": {"type": "value"},
        "series": [
            {"name": name, "type": chart.kind, "data": [_value(v, chart.money) for v in values]}
            for name, values in chart.series
        ],
    }
