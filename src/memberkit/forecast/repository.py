"""Writes for foresight: a fit's row and the member forecasts it replaces in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from memberkit.forecast.models import ForecastFit, MemberForecast

#: Rows per executemany: a bounded list in memory while the generator feeds it.
_CHUNK = 5_000


def add_fit(session: Session, fit: ForecastFit) -> ForecastFit:
    """Store a fit (failed or not) and give it its id."""
    session.add(fit)
    session.flush()
    return fit


def replace_member_forecasts(
    session: Session, *, program_id: int, rows: Iterable[dict[str, Any]]
) -> int:
    """Delete the program's member forecasts and insert ``rows``, a chunk per executemany.

    One compiled INSERT executed with a list of parameters (SQLAlchemy batches it into
    multi-row statements itself): ``insert().values(chunk)`` compiled a new 5,000-row
    statement per chunk, about 2 s of Python each, most of a million-member fit.
    """
    session.execute(delete(MemberForecast).where(MemberForecast.program_id == program_id))
    connection = session.connection()
    statement = insert(cast(Table, MemberForecast.__table__))
    written = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            connection.execute(statement, chunk)
            written += len(chunk)
            chunk = []
    if chunk:
        connection.execute(statement, chunk)
        written += len(chunk)
    return written
