"""Time: UTC in the database, the program's timezone for people and calendar rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from memberkit.config import settings
from memberkit.errors import InvalidInput
from memberkit.kit.i18n import _

#: How far ahead of the server's clock a till's clock may run.
FUTURE_TOLERANCE = timedelta(minutes=10)


#: The timezone times are shown in: the program's at hand (a request's, a member event's).
_SHOWN_IN: ContextVar[ZoneInfo | None] = ContextVar("memberkit_shown_in", default=None)


def shown_in() -> ZoneInfo:
    """Return the timezone times are shown in here: the program's, else the deployment's."""
    return _SHOWN_IN.get() or settings.tz


def show_in(tz: ZoneInfo) -> None:
    """Show times in ``tz`` for the rest of the current context (an API request's)."""
    _SHOWN_IN.set(tz)


@contextmanager
def showing_in(tz: ZoneInfo) -> Iterator[None]:
    """Show times in ``tz`` inside the block (a member event, a job's program)."""
    token = _SHOWN_IN.set(tz)
    try:
        yield
    finally:
        _SHOWN_IN.reset(token)


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return an aware datetime in UTC; naive values from SQLite are taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime) -> datetime:
    """Return a datetime in the program's timezone (:func:`shown_in`), for people and the API."""
    return as_utc(value).astimezone(shown_in())


def local_date(value: datetime) -> date:
    """Return the calendar date of an instant in the program's timezone."""
    return local(value).date()


def start_of_local_day(day: date, tz: ZoneInfo | None = None) -> datetime:
    """Return the UTC instant at which ``day`` begins in ``tz`` (the program's timezone)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz or shown_in()).astimezone(UTC)


def today(tz: ZoneInfo | None = None) -> date:
    """Return today's date in ``tz`` (default: the program's at hand, :func:`shown_in`)."""
    return utcnow().astimezone(tz or shown_in()).date()


def iso(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """Return ISO 8601 with the offset of ``tz``, as the API shows times.

    ``tz`` defaults to the timezone of the program at hand (:func:`shown_in`).
    """
    if value is None:
        return None
    return as_utc(value).astimezone(tz or shown_in()).isoformat()


class DatedInFuture(InvalidInput):
    """A request dated later than now (plus the clock tolerance)."""

    code = "occurred_at_in_future"
    message = _("occurred_at {occurred_at} is in the future: at most {minutes} minutes ahead.")


class DatedTooFarBack(InvalidInput):
    """A live request dated further back than the program allows."""

    code = "occurred_at_too_old"
    message = _(
        "occurred_at {occurred_at} is more than {days} days ago: live requests may be dated "
        "back at most {days} days; older history comes in through an import."
    )


@dataclass(frozen=True)
class Timing:
    """When a request is handled, and whether the live bound on dating it back applies.

    ``now`` is the moment of processing: what has expired by then is gone before anything is
    debited. ``history`` lifts the bound on back-dating: only the merchant's own history (the
    demo, an import) sets it, posting each event as if processed at its own time; the live API
    never does.
    """

    now: datetime
    history: bool = False

    @classmethod
    def live(cls) -> Timing:
        """Return the timing of a live request: now, bound by the program's back-dating limit."""
        return cls(utcnow())

    @classmethod
    def replay(cls, at: datetime) -> Timing:
        """Return the timing of history posted as if it were processed at ``at``."""
        return cls(as_utc(at), history=True)

    def check(self, occurred_at: datetime, *, backdate_days: int) -> None:
        """Refuse a request dated in the future, or (live) dated back beyond ``backdate_days``."""
        if occurred_at > self.now + FUTURE_TOLERANCE:
            raise DatedInFuture(
                occurred_at=iso(occurred_at),
                minutes=int(FUTURE_TOLERANCE.total_seconds() // 60),
            )
        if not self.history and occurred_at < self.now - timedelta(days=backdate_days):
            raise DatedTooFarBack(occurred_at=iso(occurred_at), days=backdate_days)


__all__ = [
    "FUTURE_TOLERANCE",
    "DatedInFuture",
    "DatedTooFarBack",
    "Timing",
    "as_utc",
    "iso",
    "local",
    "local_date",
    "show_in",
    "showing_in",
    "shown_in",
    "start_of_local_day",
    "timedelta",
    "today",
    "utcnow",
]
