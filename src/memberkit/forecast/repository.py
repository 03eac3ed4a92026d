"""Writes for foresight: a fit's row and the member forecasts it replaces in bulk."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from memberkit.forecast.models import ForecastFit, MemberForecast

#: Rows per multi-row INSERT: well under SQLite's and psycopg's parameter limits (8 columns).
_CHUNK = 5_000


def add_fit(session: Session, fit: ForecastFit) -> ForecastFit:
    """Store a fit (failed or not) and give it its id."""
    session.add(fit)
    session.flush()
    return fit


def replace_member_forecasts(
    session: Session, *, program_id: int, rows: Iterable[dict[str, Any]]
) -> int:
    """Delete the program's member forecasts and insert ``rows`` in multi-row INSERTs."""
    session.execute(delete(MemberForecast).where(MemberForecast.program_id == program_id))
    written = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _CHUNK:
            session.execute(insert(MemberForecast).values(chunk))
            written += len(chunk)
            chunk = []
    if chunk:
        session.execute(insert(MemberForecast).values(chunk))
        written += len(chunk)
    return written
