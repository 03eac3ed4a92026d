"""The console's own pages: the dashboard and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from memberkit import demo
from memberkit.audit.service import EntryView
from memberkit.errors import MemberkitError
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.cache import Expiring
from memberkit.kit.i18n import _, translate
from memberkit.kit.money import display_money
from memberkit.kit.pagination import Page
from memberkit.kit.time import start_of_local_day, today, utcnow
from memberkit.ledger import queries as ledger_queries
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, Asset
from memberkit.member import queries as member_queries
from memberkit.order import queries as order_queries
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Action

router = APIRouter(prefix="/admin", include_in_schema=False)
#: Days of the dashboard's trend.
TREND_DAYS = 30

Reports = Annotated[StaffContext, Depends(require_action(Action.view_reports))]
Audit = Annotated[StaffContext, Depends(require_action(Action.view_audit))]


@dataclass(frozen=True)
class _Figures:
    """What the dashboard reads from the database, and when it read it."""

    members: member_queries.MemberCounts
    sales: order_queries.Sales
    points: dict[str, int] | None
    wallet: int
    as_of: datetime


#: Seconds the dashboard's figures are kept per program and store scope: with a million
#: members they take seconds to sum (bench/console.py), and the page says when they are of.
FIGURES_SECONDS = 60
_figures: Expiring[_Figures] = Expiring(FIGURES_SECONDS)


def _read_figures(staff: StaffContext, stores: frozenset[str] | None, days: list[date]) -> _Figures:
    """Count members, sum the days' sales and (chain-wide roles) the points and stored value."""
    program = staff.program
    as_of = utcnow()
    with staff.work.transaction() as session:
        members = member_queries.counts(
            session,
            program_id=program.id,
            since=start_of_local_day(days[0], program.tz),
            stores=stores,
        )
        sales = order_queries.sales_by_day(
            session,
            program_id=program.id,
            bounds=[start_of_local_day(day, program.tz) for day in days]
            + [start_of_local_day(days[-1] + timedelta(days=1), program.tz)],
            stores=stores,
        )
        points: dict[str, int] | None = None
        wallet = 0
        if stores is None:
            points = {
                str(code): ledger_repository.system_total(
                    session, program_id=program.id, asset=Asset.points, code=code
                )
                for code in (AccountCode.issued, AccountCode.redeemed, AccountCode.expired)
            }
            # The issued account is the counterpart of what members earned: it runs negative.
            points[AccountCode.issued] = -points[AccountCode.issued]
            points["outstanding"] = ledger_queries.members_holding(
                session, program_id=program.id, assets=(Asset.points,)
            )
            wallet = ledger_queries.members_holding(
                session,
                program_id=program.id,
                assets=(Asset.wallet_principal, Asset.wallet_bonus),
            )
    return _Figures(members, sales, points, wallet, as_of)


@router.get("")
def dashboard(staff: Reports) -> Response:
    """Members, sales by members, points and stored value, tiers, the last 30 days.

    A store-bound role sees its stores' members and sales; the points and stored value of
    the whole program are for chain-wide roles. The figures are read at most once a minute
    per program and store scope in each process (the page says as of when).
    """
    program = staff.program
    stores = staff.actor.store_scope
    first_day = today(program.tz) - timedelta(days=TREND_DAYS - 1)
    days = [first_day + timedelta(days=n) for n in range(TREND_DAYS)]
    scope = None if stores is None else frozenset(stores)
    figures = _figures.get(
        (program.id, scope, first_day), lambda: _read_figures(staff, scope, days)
    )
    members, sales, points = figures.members, figures.sales, figures.points
    # The days that had orders (the chart shows the others as "0").
    by_day = {
        day: [net, count] for day, (net, count) in zip(days, sales.by_day, strict=True) if count
    }
    ladder = program.ladder
    tiers = [(tier.name, members.by_tier.get(tier.code, 0)) for tier in ladder.tiers]
    trend_option = _trend(days, by_day, staff.locale)
    tier_option = _tiers(tiers)
    return staff.render(
        "admin/dashboard.html",
        members=members,
        active=sales.members,
        sales_total=display_money(sales.total),
        orders=sales.orders,
        points=points,
        wallet=display_money(figures.wallet) if stores is None else None,
        tiers=tiers,
        days=[
            (day.isoformat(), display_money(by_day.get(day, [0, 0])[0]), by_day.get(day, [0, 0])[1])
            for day in days
        ],
        trend_option=trend_option,
        tier_option=tier_option,
        trend_days=TREND_DAYS,
        stores=sorted(stores) if stores is not None else None,
        as_of=figures.as_of,
        loading=_loading(),
        stage_names=demo.STAGES,
    )


def _loading() -> dict[str, object] | None:
    """How far the demo chain is loaded, while ``make run`` loads it behind the server."""
    status = demo.status()
    if status is None or status.get("state") not in ("loading", "interrupted", "failed"):
        return None
    return status


def _trend(days: list[date], by_day: dict[date, list[int]], locale: str) -> dict[str, Any]:
    """The ECharts option of the 30-day trend: sales by members per day, and orders."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {
            "top": 0,
            "data": [translate(_("Sales (¥)"), locale), translate(_("Orders"), locale)],
        },
        "grid": {"left": 60, "right": 40, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": [day.strftime("%m-%d") for day in days]},
        "yAxis": [{"type": "value"}, {"type": "value", "minInterval": 1}],
        "series": [
            {
                "name": translate(_("Sales (¥)"), locale),
                "type": "bar",
                "data": [_yuan(by_day[day][0]) if day in by_day else "0" for day in days],
            },
            {
                "name": translate(_("Orders"), locale),
                "type": "line",
                "yAxisIndex": 1,
                "data": [by_day[day][1] if day in by_day else 0 for day in days],
            },
        ],
    }


def _yuan(minor: int) -> str:
    """An amount as a plain decimal string ("1234.50"), as a chart reads it (no float)."""
    return f"{minor // 100}.{minor % 100:02d}"


def _tiers(tiers: list[tuple[str, int]]) -> dict[str, Any]:
    """The ECharts option of the tier distribution."""
    return {
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "70%"],
                "data": [{"name": name, "value": count} for name, count in tiers],
            }
        ],
    }


#: The filters of the audit log, as the page's query names them, and their longest text.
AUDIT_FILTERS = {"actor": 32, "subject": 64, "kind": 32, "action": 64, "since": 20, "until": 20}
#: The kinds of subject the console's changes are audited under.
SUBJECT_KINDS = (
    "member",
    "order",
    "staff",
    "store",
    "settings",
    "api_key",
    "webhook",
    "webhook_delivery",
    "job",
)
#: Which filter a refusal is about, by its code.
AUDIT_FIELD_OF = {
    "unknown_audit_actor": "actor",
    "staff_not_found": "subject",
    "invalid_audit_since": "since",
    "invalid_audit_until": "until",
    "audit_dates_reversed": "until",
}


@router.get("/audit")
def audit_log(request: Request, staff: Audit) -> Response:
    """The audit log, newest first; by actor, subject, action and days; paged by keyset.

    The filters stay in the address (``?actor=…&since=…&after=…``); one that cannot be read
    is said beside its field, and no entries are shown.
    """
    typed = {
        name: request.query_params.get(name, "").strip()[:most]
        for name, most in AUDIT_FILTERS.items()
    }
    raw_after = request.query_params.get("after", "")
    after = int(raw_after) if raw_after.isdecimal() and len(raw_after) < 12 else None
    errors: dict[str, str] = {}
    page: Page[EntryView] = Page([], None)
    status = 200
    with staff.work.transaction() as session:
        try:
            wanted = staff_service.audit_filter(
                session, program_id=staff.program.id, tz=staff.program.tz, **typed
            )
            page = staff_service.browse_audit(
                session,
                program_id=staff.program.id,
                viewer=staff.actor,
                filters=wanted,
                after=after,
                limit=50,
            )
        except MemberkitError as exc:
            if exc.code not in AUDIT_FIELD_OF:
                raise
            errors[AUDIT_FIELD_OF[exc.code]] = exc.detail(staff.locale)
            status = exc.status
    kept = {name: value for name, value in typed.items() if value}
    return staff.render(
        "admin/audit.html",
        status_code=status,
        page=page,
        typed=typed,
        errors=errors,
        kinds=SUBJECT_KINDS,
        filtered=bool(kept),
        older=urlencode({**kept, "after": page.next_after}) if page.next_after else None,
    )
