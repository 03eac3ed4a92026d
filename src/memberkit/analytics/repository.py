"""Writes of the analytics domain: member_rfm rows replaced in bulk, refreshes recorded."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any
from typing import cast as typed
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    Select,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    not_,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session

from memberkit.analytics.models import MemberRfm, RfmRefresh
from memberkit.analytics.rfm import BANDS, CLASSES, ActiveClass, Cut
from memberkit.analytics.rules import ACTIVE_STATES, AnalyticsRules, Cutoffs, Lifecycle
from memberkit.kit.types import UTCDateTime
from memberkit.member.models import Member
from memberkit.order.models import Order

#: Rows per multi-row INSERT: big enough to amortize round trips, small enough for memory.
BATCH = 5_000

#: PostgreSQL's memory for each sort or hash of the full refresh (the session default is 4 MB).
WORK_MEM = "256MB"


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def clear(session: Session, *, program_id: int, member_ids: Collection[int] | None = None) -> None:
    """Delete the program's member_rfm rows (only those of ``member_ids``, if given)."""
    statement = delete(MemberRfm).where(MemberRfm.program_id == program_id)
    if member_ids is not None:
        statement = statement.where(MemberRfm.member_id.in_(member_ids))
    session.execute(statement)


def insert_rows(session: Session, rows: Iterable[dict[str, Any]], *, batch: int = BATCH) -> int:
    """Insert member_rfm rows with Core, ``batch`` at a time; return how many."""
    written = 0
    # The table's own INSERT on the session's connection: one executemany per batch (the ORM's
    # bulk path would split the batch by which values are None).
    connection = session.connection()
    statement = insert(typed(Table, MemberRfm.__table__))
    for chunk in _batches(rows, batch):
        connection.execute(statement, chunk)
        written += len(chunk)
    return written


def add_refresh(session: Session, **values: Any) -> RfmRefresh:
    """Record a full refresh (its settings, cut-offs, sums and duration)."""
    refresh = RfmRefresh(**values)
    session.add(refresh)
    session.flush()
    return refresh


def _offsets(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) from ``start`` to ``end``: (from when, offset) pairs.

    The first pair's instant is ``start``; each later one is a change of offset (to the second).
    """

    def offset(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())  # type: ignore[union-attr]

    out = [(start, offset(start))]
    step = timedelta(days=1)
    at = start
    while at < end:
        nxt = min(at + step, end)
        if offset(nxt) != out[-1][1]:
            # Zones change offset on whole seconds: bisect on them, so the change is exact.
            low, high = int(at.timestamp()), int(nxt.timestamp()) + 1
            while high - low > 1:  # offset(low) is the current one, offset(high) the next
                mid = (low + high) // 2
                if offset(datetime.fromtimestamp(mid, UTC)) == out[-1][1]:
                    low = mid
                else:
                    high = mid
            changed = datetime.fromtimestamp(high, UTC)
            out.append((changed, offset(changed)))
        at = nxt
    return out


class LocalDays:
    """Local days of UTC instants and day counts, in the dialect's SQL."""

    def __init__(self, session: Session, *, program_id: int, tz: ZoneInfo, as_of: date) -> None:
        self.dialect = session.get_bind().dialect.name
        self.tz = tz
        self.as_of = literal(as_of, Date)
        self.offsets: list[tuple[datetime, int]] = []
        if self.dialect != "postgresql":
            # SQLite has no time zones: the zone's offsets over the instants the refresh reads.
            low, high = session.execute(
                select(func.min(Order.occurred_at), func.max(Order.occurred_at)).where(
                    Order.program_id == program_id
                )
            ).one()
            first, last = session.execute(
                select(func.min(Member.created_at), func.max(Member.created_at)).where(
                    Member.program_id == program_id
                )
            ).one()
            instants = [v for v in (low, high, first, last) if v is not None]
            if instants:
                self.offsets = _offsets(
                    tz, min(instants) - timedelta(days=1), max(instants) + timedelta(days=1)
                )

    def local(self, instant: Any) -> Any:
        """The program-local day of a UTC instant (NULL stays NULL)."""
        if self.dialect == "postgresql":
            return cast(func.timezone(self.tz.key, instant), Date)
        if not self.offsets:
            return func.date(instant)
        if len(self.offsets) == 1:
            return func.date(instant, f"{self.offsets[0][1]:+d} seconds")
        whens = [
            (instant < literal(since, UTCDateTime), f"{previous:+d} seconds")
            for (since, _o), (_s, previous) in zip(self.offsets[1:], self.offsets[:-1], strict=True)
        ]
        return func.date(instant, case(*whens, else_=f"{self.offsets[-1][1]:+d} seconds"))

    def since(self, day: Any) -> Any:
        """Whole days from a local day to ``as_of`` (NULL stays NULL)."""
        if self.dialect == "postgresql":
            return type_coerce(self.as_of - day, Integer)
        return cast(func.julianday(self.as_of) - func.julianday(day), Integer)

    def between(self, earlier: Any, later: Any) -> Any:
        """Whole days from one local day to another."""
        if self.dialect == "postgresql":
            return type_coerce(later - earlier, Integer)
        return cast(func.julianday(later) - func.julianday(earlier), Integer)


def replace_all(
    session: Session,
    *,
    program_id: int,
    stats: Select[Any],
    rules: AnalyticsRules,
    tz: ZoneInfo,
    as_of: date,
    computed_at: datetime,
) -> None:
    """Replace the program's member_rfm rows in one ``INSERT … SELECT``.

    ``stats`` is :func:`memberkit.analytics.queries.purchase_stats_select`. Scores, classes and
    lifecycle are computed in SQL exactly as :func:`memberkit.analytics.rfm.score` and
    :func:`memberkit.analytics.rules.lifecycle` compute them (their tests pin both).
    """
    clear(session, program_id=program_id)
    if session.get_bind().dialect.name == "postgresql":
        # The sorts of the GROUP BY and the three ranks in memory, not spilled to disk.
        session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    days = LocalDays(session, program_id=program_id, tz=tz, as_of=as_of)
    s = stats.cte("stats")
    first_on = days.local(s.c.first_at)
    last_on = days.local(s.c.last_at)
    base = (
        select(
            Member.id.label("member_id"),
            days.since(days.local(Member.created_at)).label("since_registered"),
            first_on.label("first_on"),
            last_on.label("last_on"),
            days.local(s.c.recent_first_at).label("recent_first_on"),
            days.local(s.c.previous_at).label("previous_on"),
            func.coalesce(s.c.count, 0).label("count"),
            case((s.c.monetary > 0, s.c.monetary), else_=0).label("monetary"),
            case((func.coalesce(s.c.count, 0) > 0, 1), else_=0).label("scored"),
        )
        .select_from(Member.__table__.outerjoin(s, s.c.member_id == Member.id))
        .where(Member.program_id == program_id)
        .cte("base")
    )
    b = base.c
    recency = days.since(b.last_on)
    part = b.scored
    n = func.count().over(partition_by=part)

    def score(worst_first: Any) -> Any:
        return 1 + BANDS * (func.rank().over(order_by=worst_first, partition_by=part) - 1) // n

    ranked = select(
        b.member_id,
        b.since_registered,
        b.first_on,
        b.last_on,
        b.recent_first_on,
        b.previous_on,
        b.count,
        b.monetary,
        b.scored,
        recency.label("recency"),
        days.since(b.first_on).label("since_first"),
        days.between(b.previous_on, b.recent_first_on).label("gap"),
        # A score is 1 + ⌊5 × b / n⌋, b the members strictly worse: RANK() − 1 in worst-first
        # order (equal values share the rank).
        score(recency.desc()).label("r"),
        score(b.count).label("f"),
        score(b.monetary).label("m"),
        n.label("n"),
        func.sum(recency).over(partition_by=part).label("sum_days"),
        func.sum(b.count).over(partition_by=part).label("sum_count"),
        func.sum(cast(b.monetary, Numeric)).over(partition_by=part).label("sum_monetary"),
    ).cte("ranked")
    r = ranked.c
    at = rules.threshold.at
    if rules.threshold.cut is Cut.score:
        highs = (r.r >= at, r.f >= at, r.m >= at)
    else:
        # Better than the exact mean: value × n against the sum, in whole numbers.
        highs = (
            r.recency * r.n < r.sum_days,
            r.count * r.n > r.sum_count,
            cast(r.monetary, Numeric) * r.n > r.sum_monetary,
        )
    rfm_class = case(
        *[
            (and_(*(h if want else not_(h) for h, want in zip(highs, key, strict=True))), c.value)
            for key, c in CLASSES.items()
        ]
    )
    d = rules.dormant_days
    state = case(
        (r.last_on.is_(None), case(
            (r.since_registered >= rules.churned_days, Lifecycle.churned.value),
            (r.since_registered < rules.new_days, Lifecycle.new.value),
            else_=Lifecycle.dormant.value,
        )),
        (r.recency >= rules.churned_days, Lifecycle.churned.value),
        (r.recency >= d, Lifecycle.dormant.value),
        (r.since_first < rules.new_days, Lifecycle.new.value),
        (r.gap > d, Lifecycle.won_back.value),
        else_=Lifecycle.active.value,
    )  # fmt: skip
    active = case(
        (highs[1], ActiveClass.loyal.value),
        (highs[2], ActiveClass.opportunity.value),
        else_=ActiveClass.random.value,
    )
    scored = r.scored == 1
    rows = select(
        r.member_id,
        literal(program_id, Integer),
        days.as_of,
        r.recency,
        r.count,
        r.monetary,
        case((scored, r.r), else_=1),
        case((scored, r.f), else_=1),
        case((scored, r.m), else_=1),
        case((scored, rfm_class)),
        case((and_(scored, state.in_([s.value for s in ACTIVE_STATES])), active)),
        state,
        r.first_on,
        r.last_on,
        r.recent_first_on,
        r.previous_on,
        literal(computed_at, UTCDateTime),
    )
    table = typed(Table, MemberRfm.__table__)
    columns = [
        "member_id", "program_id", "as_of", "recency_days", "frequency", "monetary_minor",
        "r_score", "f_score", "m_score", "rfm_class", "active_class", "lifecycle",
        "first_purchase_on", "last_purchase_on", "recent_first_on", "previous_on", "computed_at",
    ]  # fmt: skip
    session.execute(insert(table).from_select(columns, rows))


def cutoff_figures(session: Session, *, program_id: int) -> tuple[int, Cutoffs | None]:
    """The program's member_rfm rows and their cut-offs (None: none scored), read back.

    The value at position ⌈(k−1)·n/5⌉ of the worst-first order is the best value that still
    scores below ``k`` (:func:`memberkit.analytics.rules.cutoffs` reads it from the sort).
    """
    m = MemberRfm
    ks = range(2, BANDS + 1)
    scored = m.frequency > 0
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((scored, 1), else_=0)), 0),
            func.coalesce(func.sum(case((scored, m.recency_days), else_=0)), 0),
            func.coalesce(func.sum(m.frequency), 0),
            func.coalesce(func.sum(m.monetary_minor), 0),
            *[func.min(case((m.r_score < k, m.recency_days))) for k in ks],
            *[func.max(case((m.f_score < k, m.frequency))) for k in ks],
            *[func.max(case((m.m_score < k, m.monetary_minor))) for k in ks],
        ).where(m.program_id == program_id)
    ).one()
    members, n = int(row[0]), int(row[1])
    if not n:
        return members, None
    values = [int(v) for v in row[5:]]
    return (
        members,
        Cutoffs(
            scored=n,
            recency=tuple(v - 1 for v in values[0:4]),  # type: ignore[arg-type]
            frequency=tuple(v + 1 for v in values[4:8]),  # type: ignore[arg-type]
            monetary=tuple(v + 1 for v in values[8:12]),  # type: ignore[arg-type]
            sum_days=int(row[2]),
            sum_count=int(row[3]),
            sum_monetary=int(row[4]),
        ),
    )
