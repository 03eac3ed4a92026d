"""REST endpoints of the reports: figures as JSON, or the same report as .xlsx or .pdf."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from memberkit.api.context import ApiContext, ReadContext
from memberkit.kit.i18n import negotiate
from memberkit.report import reading
from memberkit.report.service import MembersReport, PointsReport, SalesReport

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

#: Days as YYYY-MM-DD; their range (1990-01-01 on, for imported history) is the filters' to
#: check (422 ``report_date_out_of_range``).
From = Annotated[date | None, Query(alias="from")]
To = Annotated[date | None, Query(alias="to")]
GrainQuery = Annotated[str | None, Query(max_length=8, description="day, week or month")]
Code = Annotated[str | None, Query(max_length=32)]
Format = Annotated[str | None, Query(max_length=8, description="json (default), xlsx or pdf")]


def _answer(request: Request, context: ApiContext, name: str, fmt: str | None, **asked: Any) -> Any:
    store = context.principal.store_code
    outcome = reading.run(
        context.database,
        name=name,
        program=context.program,
        asked=reading.filters(context.program, **asked),
        viewer=None if store is None else [store],
        locale=negotiate(request.headers.get("accept-language")),
    )
    if fmt in (None, "", "json"):
        return outcome.report
    content, media, filename = reading.exported(outcome, fmt)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/sales", response_model=SalesReport)
def get_sales(
    request: Request,
    context: ReadContext,
    date_from: From = None,
    date_to: To = None,
    grain: GrainQuery = None,
    store: Code = None,
    tier: Code = None,
    format: Format = None,
) -> Any:
    """Sales of a period (local days ``from``..``to``), by bucket (``grain``), store and tier.

    Sales are the orders made in the period net of what was refunded of them (minor units);
    orders leave fully refunded ones out; average order value is sales / orders; frequency is
    member orders per buying member; member share is member sales / sales (an order without a
    member is a non-member sale). Tiers are members' current tiers. A store-bound key sees its
    store's orders only and may not ask for another store (403 ``report_store_out_of_scope``).
    ``format=xlsx`` or ``pdf`` (or ``/sales.xlsx``, ``/sales.pdf``) returns the file.
    """
    return _answer(
        request,
        context,
        "sales",
        format,
        date_from=date_from,
        date_to=date_to,
        grain=grain,
        store=store,
        tier=tier,
    )


@router.get("/points", response_model=PointsReport)
def get_points(
    request: Request,
    context: ReadContext,
    date_from: From = None,
    date_to: To = None,
    grain: GrainQuery = None,
    store: Code = None,
    tier: Code = None,
    format: Format = None,
) -> Any:
    """Points and stored value: flows of the period, and what is owed at its end.

    Points issued (earned less claw-backs), redeemed (spent less returned), expired and
    adjusted are sums of the ledger's entries dated in the period; breakage rate is expired /
    issued in the period. Outstanding points, their value, the debt, what expires within 30, 60
    and 90 days and the stored value held are the liability report's figures at the end of
    ``to``. Members are counted by home store (a store-bound key: its store's members).
    """
    return _answer(
        request,
        context,
        "points",
        format,
        date_from=date_from,
        date_to=date_to,
        grain=grain,
        store=store,
        tier=tier,
    )


@router.get("/members", response_model=MembersReport)
def get_members(
    request: Request,
    context: ReadContext,
    date_from: From = None,
    date_to: To = None,
    grain: GrainQuery = None,
    store: Code = None,
    tier: Code = None,
    format: Format = None,
) -> Any:
    """Members: totals, new ones, groups, cohorts, repurchase and referral rates, tier moves.

    Total by the period's end and new in it, by tier, home store and channel; cohort
    retention by month of joining; repurchase rate (members with ≥ 2 purchases in the period /
    those with ≥ 1); referral rate (new members with a referrer / new members); tier moves.

    ``lifecycle``: members per state (new, active, won back, dormant, churned) as of the last
    RFM refresh (``lifecycle_as_of``, null before any), for the store and tier asked.
    """
    return _answer(
        request,
        context,
        "members",
        format,
        date_from=date_from,
        date_to=date_to,
        grain=grain,
        store=store,
        tier=tier,
    )


@router.get("/{name}.{fmt}", response_class=Response)
def get_export(
    name: str,
    fmt: str,
    request: Request,
    context: ReadContext,
    date_from: From = None,
    date_to: To = None,
    grain: GrainQuery = None,
    store: Code = None,
    tier: Code = None,
) -> Any:
    """The report ``name`` (sales, points, members) as ``.xlsx`` or ``.pdf`` (charts included)."""
    if fmt not in reading.FORMATS:
        raise reading.UnknownReport()
    return _answer(
        request,
        context,
        name,
        fmt,
        date_from=date_from,
        date_to=date_to,
        grain=grain,
        store=store,
        tier=tier,
    )
