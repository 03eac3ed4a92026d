"""Writes for foresight: a fit's row and the member forecasts it replaces in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from memberkit.db import insert_ready
from memberkit.forecast.models import ForecastFit, MemberForecast

#: Rows per bulk insert: a bounded list in memory while the generator feeds it.
_CHUNK = 50_000
#: The columns of a member forecast row given to :func:`replace_member_forecasts`.
COLUMNS = (
    "program_id",
    "member_id",
    "fit_id",
    "p_alive_ppm",
    "expected_purchases_90d_milli",
    "expected_value_12m_minor",
    "computed_at",
)


def add_fit(session: Session, fit: ForecastFit) -> ForecastFit:
    """Store a fit (failed or not) and give it its id."""
    session.add(fit)
    session.flush()
    return fit


def replace_member_forecasts(
    session: Session, *, program_id: int, rows: Iterable[Sequence[Any]]
) -> int:
    """Delete the program's member forecasts and insert ``rows``, tuples of :data:`COLUMNS`.

    By the driver's bulk path (:func:`memberkit.db.insert_ready`): binary ``COPY`` on
    PostgreSQL, one prepared ``executemany`` on SQLite, a chunk at a time. ``computed_at`` is
    given as an aware UTC datetime and turned into the driver's form here.
    """
    session.execute(delete(MemberForecast).where(MemberForecast.program_id == program_id))
    connection = session.connection()
    target = cast(Table, MemberForecast.__table__)
    at = COLUMNS.index("computed_at")
    process = target.c.computed_at.type._cached_bind_processor(connection.dialect)
    stamps: dict[Any, Any] = {}
    written = 0
    chunk: list[Sequence[Any]] = []
    for row in rows:
        stamp = row[at]
        if stamp not in stamps:
            stamps[stamp] = process(stamp) if process is not None else stamp
        chunk.append((*row[:at], stamps[stamp], *row[at + 1 :]))
        if len(chunk) == _CHUNK:
            insert_ready(connection, target, COLUMNS, chunk)
            written += len(chunk)
            chunk = []
    if chunk:
        insert_ready(connection, target, COLUMNS, chunk)
        written += len(chunk)
    return written
