"""The in-process scheduler of the embedded default: daily jobs in a background thread.

Started once per deployment with the other background services (:mod:`memberkit.background`).
Scaled out, run ``memberkit jobs …`` from a real scheduler instead (set
``MEMBERKIT_SCHEDULER=false`` on the API processes); the jobs are idempotent either way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import showing_in, utcnow
from memberkit.program.service import ProgramConfig
from memberkit.tasks import TASKS, programs

log = logging.getLogger("memberkit.scheduler")
#: How long the scheduler sleeps at most before it reads the programs again (new programs,
#: changed timezones).
RECHECK = timedelta(minutes=5)


def next_run(now: datetime, at: time, tz: ZoneInfo | None = None) -> datetime:
    """Return the next instant (UTC) at which the wall clock of ``tz`` shows ``at``.

    ``tz`` is a program's timezone (default: the deployment's ``MEMBERKIT_TIMEZONE``).
    """
    tz = tz or settings.tz
    local_now = now.astimezone(tz)
    candidate = datetime.combine(local_now.date(), at, tzinfo=tz)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(now.tzinfo)


class Calendar:
    """Which programs' daily jobs are due, each at ``at`` on its own wall clock.

    A program is first seen with its day counted from then: seen after ``at``, its first run
    is the next day's (as a scheduler started late waits for tomorrow). Each program runs at
    most once per local day, whatever its timezone becomes.
    """

    def __init__(self, at: time) -> None:
        self.at = at
        self.last: dict[str, date] = {}

    def due(self, now: datetime, every: Iterable[ProgramConfig]) -> list[str]:
        """Return the codes of the programs whose jobs are due at ``now``, marking them run."""
        due = []
        for program in every:
            local = now.astimezone(program.tz)
            today, reached = local.date(), local.time() >= self.at
            last = self.last.setdefault(
                program.code, today if reached else today - timedelta(days=1)
            )
            if reached and last < today:
                self.last[program.code] = today
                due.append(program.code)
        return due

    def wake(self, now: datetime, every: Iterable[ProgramConfig]) -> datetime:
        """Return when to look again: the next program's run, or :data:`RECHECK` from now."""
        return min([now + RECHECK, *(next_run(now, self.at, p.tz) for p in every)])


class Scheduler:
    """Runs the daily jobs (:func:`run_daily`) at ``settings.expire_points_at``.

    Each program's run at that time on its own wall clock (its timezone): see :class:`Calendar`.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memberkit-scheduler", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()
        log.info("scheduler started: daily jobs at %s", settings.expire_points_at)

    def stop(self) -> None:
        """Ask the thread to stop and wait briefly for it."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        calendar = Calendar(time.fromisoformat(settings.expire_points_at))
        while not self._stop.is_set():
            now = utcnow()
            try:
                every = programs(self.database)
            except Exception:  # the scheduler must survive a database outage; it looks again
                log.exception("the programs could not be read")
                every = []
            due = calendar.due(now, every)
            if due:
                run_daily(self.database, as_of=now, only=due)
            if self._stop.wait(
                max(0.0, (calendar.wake(utcnow(), every) - utcnow()).total_seconds())
            ):
                return


def run_daily(
    database: Database, *, as_of: datetime, only: Collection[str] | None = None
) -> list[str]:
    """Run every job of :data:`memberkit.tasks.TASKS`, in order, for every program.

    With ``only``, for the programs of those codes.

    A job that fails for one program is logged and does not stop the others, nor the same job
    for the other programs; it is retried tomorrow (every job is idempotent). Returns what
    failed, as ``job:program`` (the program's code).
    """
    failed = []
    for task in TASKS:
        try:
            every = programs(database)
        except Exception:  # the scheduler must survive a failed job; it retries tomorrow
            log.exception("%s failed: the programs could not be read", task.name)
            failed.append(task.name)
            continue
        for program in every:
            if only is not None and program.code not in only:
                continue
            if (idle := task.idle(program)) is not None:
                log.info("%s [%s]: %s", task.name, program.code, idle)
                continue
            try:
                with showing_in(program.tz):
                    outcome = task.run(
                        database, program=program, as_of=as_of, dry_run=False, progress=None
                    )
            except Exception:  # one program's failure must not stop the others
                log.exception("%s failed for program %s", task.name, program.code)
                failed.append(f"{task.name}:{program.code}")
            else:
                log.info("%s [%s]: %s", task.name, program.code, outcome)
    return failed
