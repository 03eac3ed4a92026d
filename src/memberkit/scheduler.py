"""The in-process scheduler of the embedded default: daily jobs in a background thread.

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
from memberkit.ledger import expiry
from memberkit.program import service as program_service
from memberkit.tier import service as tier_service

log = logging.getLogger("memberkit.scheduler")


def next_run(now: datetime, at: time) -> datetime:
    """Return the next instant (UTC) at which the local wall clock shows ``at``."""
    local_now = now.astimezone(settings.tz)
    candidate = datetime.combine(local_now.date(), at, tzinfo=settings.tz)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), at, tzinfo=settings.tz)
    return candidate.astimezone(now.tzinfo)


class Scheduler:
    """Runs points expiry, then the tier review, once a day at ``settings.expire_points_at``."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="memberkit-scheduler", daemon=True)

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

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
            try:
                result = expiry.run(self.database, as_of=utcnow())
                log.info("expired %s points in %s lots", result.points, result.lots)
            except Exception:  # the scheduler must survive a failed run; it retries tomorrow
                log.exception("points expiry failed")
            try:
                with self.database.session_scope() as session:
                    program = program_service.get(session)
                reviewed = tier_service.review(self.database, program=program, as_of=utcnow())
                log.info("tier review: %s kept, %s moved down", reviewed.kept, reviewed.downgraded)
            except Exception:
                log.exception("tier review failed")
