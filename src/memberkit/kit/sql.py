"""SQL expressions the dialects spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

#: julianday() of 1970-01-01 00:00 UTC: SQLite's days since the epoch start there.
_JULIAN_EPOCH = 2440587.5


def local_day(session: Session, instant: Any, offset_seconds: int) -> ColumnElement[int]:
    """An instant's calendar day (days since 1970-01-01) at a fixed UTC offset, per dialect."""
    if session.get_bind().dialect.name == "sqlite":
        julian = func.julianday(instant) - _JULIAN_EPOCH + offset_seconds / 86400.0
        # julianday is positive after 1970 for every order (history starts in 1990): CAST truncates.
        return cast(julian, Integer)
    epoch = func.extract("epoch", instant) + offset_seconds
    return cast(func.floor(cast(epoch, Float) / 86400.0), Integer)
