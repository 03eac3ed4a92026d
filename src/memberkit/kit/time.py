"""Time: UTC in the database, the program's timezone for people and calendar rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from memberkit.config import settings


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return an aware datetime in UTC; naive values from SQLite are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """Return a datetime in the program's timezone, for display and API output."""
    return as_utc(value).astimezone(settings.tz)


def local_date(value: datetime) -> date:
    """Return the calendar date of an instant in the program's timezone."""
    return local(value).date()


def start_of_local_day(day: date) -> datetime:
    """Return the UTC instant at which ``day`` begins in the program's timezone."""
    return datetime(day.year, day.month, day.day, tzinfo=settings.tz).astimezone(UTC)


def today() -> date:
    """Return today's date in the program's timezone."""
    return local_date(utcnow())


def iso(value: datetime | None) -> str | None:
    """Return ISO 8601 with the program's offset, as the API shows times."""
    return local(value).isoformat() if value is not None else None


__all__ = [
    "as_utc",
    "iso",
    "local",
    "local_date",
    "start_of_local_day",
    "timedelta",
    "today",
    "utcnow",
]
