"""The in-process scheduler of the embedded default: daily jobs in a background thread.

Started once per deployment with the other background services (:mod:`memberkit.background`).
Scaled out, run ``memberkit jobs …`` from a real scheduler instead (set
``MEMBERKIT_SCHEDULER=false`` on the API processes); the jobs are idempotent either way.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, time, timedelta

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.tasks import TASKS, programs

log = logging.getLogger("memberkit.scheduler")


def next_run(now: datetime, at: time) -> datetime:
    """Return the next instant (UTC) at which the local wall clock shows ``at``."""
    local_now = now.astimezone(settings.tz)
    candidate = datetime.combine(local_now.date(), at, tzinfo=settings.tz)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=settings.tz)
    return candidate.astimezone(now.tzinfo)


class Scheduler:
    """Runs the daily jobs (:func:`run_daily`) at ``settings.expire_points_at``."""

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
        at = time.fromisoformat(settings.expire_points_at)
        while not self._stop.is_set():
            due = next_run(utcnow(), at)
            if self._stop.wait((due - utcnow()).total_seconds()):
                return
            run_daily(self.database, as_of=utcnow())


def run_daily(database: Database, *, as_of: datetime) -> list[str]:
    """Run every job of :data:`memberkit.tasks.TASKS`, in order, for every program.

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
            if (idle := task.idle(program)) is not None:
                log.info("%s [%s]: %s", task.name, program.code, idle)
                continue
            try:
                outcome = task.run(
                    database, program=program, as_of=as_of, dry_run=False, progress=None
                )
            except Exception:  # one program's failure must not stop the others
                log.exception("%s failed for program %s", task.name, program.code)
                failed.append(f"{task.name}:{program.code}")
            else:
                log.info("%s [%s]: %s", task.name, program.code, outcome)
    return failed
