"""Run a report by name for a viewer: parse its filters, read on the analytics connection.

Shared by the REST endpoints and the console pages, so both answer the same question the
same way: the same defaults, the same refusals, the same read connection.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.errors import InvalidInput, NotFound
from memberkit.kit.i18n import _
from memberkit.kit.time import today
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from memberkit.report import document, export, service
from memberkit.report.rules import Filters, Grain, scope
from memberkit.store import queries as store_queries
from memberkit.store.service import StoreNotFound

#: The reports by name: the use case and how its result becomes a document.
REPORTS: dict[str, tuple[Callable[..., Any], Callable[..., document.Document]]] = {
    "sales": (service.sales, document.sales),
    "points": (service.points, document.points),
    "members": (service.members, document.members),
}
#: What a report may be exported to, and the media type of each.
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


class UnknownReport(NotFound):
    """No report of that name (or no export of that format)."""

    code = "report_not_found"
    message = _("There is no such report.")


class UnknownGrain(InvalidInput):
    """A grain other than day, week or month."""

    code = "report_grain_invalid"
    message = _("Choose a grain of day, week or month.")


class TierNotFound(NotFound):
    """A tier filter naming no tier of the ladder and no member's tier."""

    code = "report_tier_not_found"
    message = _("No tier with code {tier_code}.")


class BadDate(InvalidInput):
    """A day that does not read as YYYY-MM-DD."""

    code = "report_date_invalid"
    message = _("Enter a date as YYYY-MM-DD.")


def default_period(program: ProgramConfig) -> tuple[date, date]:
    """Six calendar months to today: the first of the month five months back, and today."""
    end = today(program.tz)
    month = end.month - 5
    year = end.year + (month - 1) // 12
    return date(year, (month - 1) % 12 + 1, 1), end


def parse_day(text: str | None) -> date | None:
    """A day as YYYY-MM-DD, None when empty; else :class:`BadDate`."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise BadDate() from None


def filters(
    program: ProgramConfig,
    *,
    date_from: date | None,
    date_to: date | None,
    grain: str | None,
    store: str | None,
    tier: str | None,
) -> Filters:
    """The filters asked for, with the default period where none is given."""
    first, last = default_period(program)
    if grain and grain not in Grain.__members__:
        raise UnknownGrain()
    end = date_to or (last if date_from is None else max(date_from, last))
    start = date_from or min(first, end)
    return Filters(
        start,
        end,
        Grain(grain) if grain else Grain.month,
        store=(store or "").strip()[:32] or None,
        tier=(tier or "").strip()[:32] or None,
    )


@dataclass(frozen=True)
class Outcome:
    """A report's figures and its document."""

    report: Any
    document: document.Document


def run(
    database: Database,
    *,
    name: str,
    program: ProgramConfig,
    asked: Filters,
    viewer: Collection[str] | None,
    locale: str,
) -> Outcome:
    """Read the report ``name`` on the analytics connection (it never blocks the order path)."""
    if name not in REPORTS:
        raise UnknownReport()
    use_case, shape = REPORTS[name]
    with database.analytics_scope() as session:
        _check_known(session, program, asked, viewer)
        report = use_case(session, program=program, filters=asked, viewer=viewer)
    return Outcome(report, shape(report, program, locale))


def _check_known(
    session: Session, program: ProgramConfig, asked: Filters, viewer: Collection[str] | None
) -> None:
    """Refuse a store or tier that does not exist, rather than answer with zeros.

    Another store than a store-bound viewer's own is refused first (403), so that a viewer
    cannot learn which store codes exist. A tier may be one no longer on the ladder while
    members still hold it.
    """
    scope(viewer, asked.store)
    if asked.store is not None and asked.store not in store_queries.ids_by_code(
        session, program_id=program.id
    ):
        raise StoreNotFound(store_code=asked.store)
    tier = asked.tier
    if tier is None or any(t.code == tier for t in program.ladder.tiers):
        return
    held = exists().where(Member.program_id == program.id, Member.tier_code == tier)
    if not session.scalar(select(held)):
        raise TierNotFound(tier_code=tier)


def exported(outcome: Outcome, fmt: str) -> tuple[bytes, str, str]:
    """The report's file: (content, media type, file name)."""
    if fmt not in FORMATS:
        raise UnknownReport()
    content = export.xlsx(outcome.document) if fmt == "xlsx" else export.pdf(outcome.document)
    asked = outcome.report.filters
    return content, FORMATS[fmt], f"{outcome.document.name}-{asked.date_from}-{asked.date_to}.{fmt}"
