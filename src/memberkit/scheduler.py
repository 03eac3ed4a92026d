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
from memberkit.growth import decay
from memberkit.idempotency import tasks as idempotency_tasks
from memberkit.kit.time import utcnow
from memberkit.ledger import expiry
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
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
    """Runs the daily jobs (:func:`run_daily`) at ``settings.expire_points_at``."""

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
            run_daily(self.database, as_of=utcnow())


def run_daily(database: Database, *, as_of: datetime) -> list[str]:
    """Run the daily jobs in order: points expiry, growth decay, tier review, idempotency purge.

    Each job runs even when an earlier one failed (the failure is logged, and the job is
    retried tomorrow: they are all idempotent). Returns the names of the jobs that failed.
    """

    def program() -> ProgramConfig:
        with database.session_scope() as session:
            return program_service.get(session)

    def expire() -> str:
        result = expiry.run(database, as_of=as_of)
        return f"expired {result.points} points in {result.lots} lots"

    def decay_growth() -> str:
        result = decay.run(database, program=program(), as_of=as_of)
        return f"decayed {result.growth} growth from {result.members} members"

    def review_tiers() -> str:
        result = tier_service.review(database, program=program(), as_of=as_of)
        return (
            f"tiers reviewed: {result.kept} kept, {result.downgraded} moved down, "
            f"{result.notified} notified"
        )

    def purge_idempotency() -> str:
        return f"purged {idempotency_tasks.purge(database, as_of=as_of)} idempotency records"

    failed = []
    for name, job in (
        ("expire-points", expire),
        ("decay-growth", decay_growth),
        ("review-tiers", review_tiers),
        ("purge-idempotency", purge_idempotency),
    ):
        try:
            log.info("%s: %s", name, job())
        except Exception:  # the scheduler must survive a failed job; it retries tomorrow
            log.exception("%s failed", name)
            failed.append(name)
    return failed
