"""Use cases of the analytics domain: refresh the program's RFM and lifecycle, read them.

A **full refresh** (:func:`refresh`, daily and on demand) replaces the program's
``member_rfm`` rows with one ``INSERT … SELECT`` in the database: a ``GROUP BY`` over
``orders``, the members who bought in the window scored against each other by window ranks
exactly as :func:`memberkit.analytics.rfm.score` scores them, every member's lifecycle as
:func:`memberkit.analytics.rules.lifecycle` decides it (a test holds the SQL to both); then it
records the refresh with its cut-offs, read back from the rows. An **incremental refresh**
(:func:`refresh_members`, for a few members after their orders) scores them against the last
full refresh's cut-offs and means, so the others' scores stay as they were until the next full
refresh; before any full refresh it does nothing. Both judge days in the program's timezone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from memberkit.analytics import queries, repository
from memberkit.analytics.models import MemberRfm, RfmRefresh
from memberkit.analytics.rfm import Purchases, Scored, score
from memberkit.analytics.rules import (
    ACTIVE_STATES,
    AnalyticsRules,
    Cutoffs,
    History,
    lifecycle,
    score_against,
)
from memberkit.analytics.settings import ANALYTICS
from memberkit.errors import NotFound
from memberkit.kit.i18n import _
from memberkit.kit.time import start_of_local_day, today, utcnow
from memberkit.program.service import ProgramConfig

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: members given a row, of them scored (a purchase in the window)."""

    as_of: date
    members: int
    scored: int
    milliseconds: int


def program_today(program: ProgramConfig) -> date:
    """Today in the program's timezone: the day a refresh is as of by default."""
    return today(program.tz)


def bounds(rules: AnalyticsRules, *, as_of: date, tz: ZoneInfo) -> queries.Bounds:
    """The instants the refresh as of ``as_of`` reads orders by (program-local days)."""
    return queries.Bounds(
        window=start_of_local_day(as_of - timedelta(days=rules.window_days - 1), tz),
        recent=start_of_local_day(as_of - timedelta(days=rules.dormant_days - 1), tz),
        end=start_of_local_day(as_of + timedelta(days=1), tz),
    )


@dataclass
class _Member:
    member_id: int
    history: History
    count: int = 0
    monetary_minor: int = 0


def _members(
    session: Session,
    *,
    program: ProgramConfig,
    rules: AnalyticsRules,
    as_of: date,
    member_ids: Collection[int] | None,
) -> list[_Member]:
    tz = program.tz

    def day(value: datetime | None) -> date | None:
        return None if value is None else value.astimezone(tz).date()

    stats = {
        row[0]: row
        for row in queries.purchase_stats(
            session,
            program_id=program.id,
            bounds=bounds(rules, as_of=as_of, tz=tz),
            member_ids=member_ids,
        )
    }
    out = []
    for member_id, created_at in queries.members_registered(
        session, program_id=program.id, member_ids=member_ids
    ):
        registered_on = created_at.astimezone(tz).date()
        row = stats.get(member_id)
        if row is None:
            out.append(_Member(member_id, History(registered_on)))
            continue
        _id, first, last, count, monetary, recent_first, previous = row
        history = History(registered_on, day(first), day(last), day(recent_first), day(previous))
        out.append(_Member(member_id, history, int(count), max(0, int(monetary))))
    return out


def _purchases(members: list[_Member], as_of: date) -> list[Purchases]:
    return [
        Purchases(
            m.member_id,
            (as_of - m.history.last_purchase_on).days,  # type: ignore[operator]
            m.count,
            m.monetary_minor,
        )
        for m in members
        if m.count
    ]


def _rows(
    members: list[_Member],
    scored: dict[int, Scored],
    *,
    program_id: int,
    rules: AnalyticsRules,
    as_of: date,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    total = len(members)
    for done, member in enumerate(members, start=1):
        history = member.history
        state = lifecycle(history, as_of=as_of, rules=rules)
        scores = scored.get(member.member_id)
        last = history.last_purchase_on
        rows.append(
            {
                "member_id": member.member_id,
                "program_id": program_id,
                "as_of": as_of,
                "recency_days": None if last is None else (as_of - last).days,
                "frequency": member.count,
                "monetary_minor": member.monetary_minor,
                "r_score": scores.r if scores else 1,
                "f_score": scores.f if scores else 1,
                "m_score": scores.m if scores else 1,
                "rfm_class": scores.rfm_class.value if scores else None,
                "active_class": (
                    scores.active_class.value if scores and state in ACTIVE_STATES else None
                ),
                "lifecycle": state.value,
                "first_purchase_on": history.first_purchase_on,
                "last_purchase_on": last,
                "recent_first_on": history.recent_first_on,
                "previous_on": history.previous_on,
                "computed_at": now,
            }
        )
        if progress and (done % 10_000 == 0 or done == total):
            progress(done, total)
    return rows


def refresh(
    session: Session,
    *,
    program: ProgramConfig,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> Refreshed:
    """Recompute every member's RFM and lifecycle as of ``as_of`` (default: program today).

    Replaces the program's ``member_rfm`` rows (one per member; a member without a purchase
    in the window scores 1, 1, 1 with no class) and records the refresh with its cut-offs.
    """
    started = time.perf_counter()
    as_of = as_of or program_today(program)
    rules = program.section(ANALYTICS)
    # One INSERT … SELECT: the rows never leave the database (see repository.replace_all).
    repository.replace_all(
        session,
        program_id=program.id,
        stats=queries.purchase_stats_select(
            program_id=program.id, bounds=bounds(rules, as_of=as_of, tz=program.tz)
        ),
        rules=rules,
        tz=program.tz,
        as_of=as_of,
        computed_at=utcnow(),
    )
    written, cut = repository.cutoff_figures(session, program_id=program.id)
    if progress:
        progress(written, written)
    milliseconds = round((time.perf_counter() - started) * 1000)
    repository.add_refresh(
        session,
        program_id=program.id,
        as_of=as_of,
        settings=rules.config(),
        members=written,
        scored=cut.scored if cut else 0,
        cutoffs=None
        if cut is None
        else {
            "recency": list(cut.recency),
            "frequency": list(cut.frequency),
            "monetary": list(cut.monetary),
        },
        sum_days=cut.sum_days if cut else 0,
        sum_count=cut.sum_count if cut else 0,
        sum_monetary=cut.sum_monetary if cut else 0,
        milliseconds=milliseconds,
    )
    return Refreshed(as_of, written, cut.scored if cut else 0, milliseconds)


def stored_cutoffs(refresh: RfmRefresh) -> Cutoffs | None:
    """The cut-offs a full refresh recorded (None: it scored nobody)."""
    if refresh.cutoffs is None or not refresh.scored:
        return None
    c = refresh.cutoffs
    return Cutoffs(
        scored=refresh.scored,
        recency=tuple(c["recency"]),  # type: ignore[arg-type]
        frequency=tuple(c["frequency"]),  # type: ignore[arg-type]
        monetary=tuple(c["monetary"]),  # type: ignore[arg-type]
        sum_days=refresh.sum_days,
        sum_count=refresh.sum_count,
        sum_monetary=refresh.sum_monetary,
    )


def refresh_members(
    session: Session,
    *,
    program: ProgramConfig,
    member_ids: Collection[int],
    as_of: date | None = None,
) -> int:
    """Recompute a few members' rows, scored against the last full refresh's cut-offs.

    The members' purchases and lifecycle are read afresh with today's settings; their scores
    and classes are what they would have been in the last full refresh with these purchases
    (its cut-offs and means). Before any full refresh nothing is done (returns 0); otherwise
    returns how many rows were written.
    """
    last = queries.latest_refresh(session, program_id=program.id)
    if last is None or not member_ids:
        return 0
    as_of = as_of or program_today(program)
    rules = program.section(ANALYTICS)
    members = _members(session, program=program, rules=rules, as_of=as_of, member_ids=member_ids)
    cut = stored_cutoffs(last)
    scored: dict[int, Scored] = {}
    if cut is not None:
        for p in _purchases(members, as_of):
            scored[p.member_id] = score_against(p, cut, rules.threshold)
    elif members:
        # The last full refresh scored nobody: these members are scored among themselves.
        scored = {s.member_id: s for s in score(_purchases(members, as_of), rules.threshold)}
    repository.clear(session, program_id=program.id, member_ids=[m.member_id for m in members])
    return repository.insert_rows(
        session, _rows(members, scored, program_id=program.id, rules=rules, as_of=as_of)
    )


@dataclass(frozen=True)
class Overview:
    """The RFM page and ``GET /api/v1/rfm``: settings in force, last refresh, counts."""

    rules: AnalyticsRules
    refresh: RfmRefresh | None
    cutoffs: Cutoffs | None
    counts: queries.Counts


def overview(
    session: Session, *, program: ProgramConfig, stores: Collection[str] | None = None
) -> Overview:
    """The program's RFM at a glance; ``stores`` (codes) narrows the counts to their members."""
    ids = (
        None if stores is None else queries.store_ids(session, program_id=program.id, codes=stores)
    )
    last = queries.latest_refresh(session, program_id=program.id)
    return Overview(
        rules=program.section(ANALYTICS),
        refresh=last,
        cutoffs=None if last is None else stored_cutoffs(last),
        counts=queries.counts(session, program_id=program.id, store_ids=ids),
    )


class NotRefreshed(NotFound):
    """A member no refresh has reached yet."""

    code = "rfm_not_refreshed"
    message = _(
        "Member {member_no} has no RFM yet: it is computed by the daily refresh or on demand."
    )


def member_rfm(session: Session, *, member_id: int, member_no: str) -> MemberRfm:
    """One member's stored RFM row; :class:`NotRefreshed` if no refresh reached them."""
    row = queries.member_rfm(session, member_id=member_id)
    if row is None:
        raise NotRefreshed(member_no=member_no)
    return row
