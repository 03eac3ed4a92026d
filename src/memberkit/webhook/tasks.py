"""The outbox worker (fan out, claim, deliver) and the daily purge of the outbox.

The worker runs alone as ``memberkit worker`` (scaled out: as many as you like, they share
the work) or as a thread inside ``memberkit serve`` (the embedded default,
``settings.outbox_worker``); it waits a short poll interval when idle.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from memberkit.config import settings
from memberkit.db import Database, is_busy
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig
from memberkit.webhook import service

log = logging.getLogger("memberkit.webhook")


def run(database: Database, *, stop: threading.Event) -> None:
    """Deliver the outbox until ``stop`` is set; a pass that found work is followed at once.

    A failing pass (the database gone for a moment) is logged and retried after the poll
    interval: the worker outlives it.
    """
    while not stop.is_set():
        try:
            done = service.deliver_due(database)
        except Exception as exc:  # the worker must survive; the next pass retries
            if is_busy(exc):
                log.info("outbox pass skipped: database busy")
            else:
                log.exception("outbox pass failed")
            stop.wait(settings.webhook_poll_seconds)
            continue
        if not done.busy:
            stop.wait(settings.webhook_poll_seconds)


class OutboxWorker:
    """The worker in a background thread (inside ``memberkit serve``)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run,
            args=(database,),
            kwargs={"stop": self._stop},
            name="memberkit-outbox",
            daemon=True,
        )

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after its current attempt and wait for it a while."""
        self._stop.set()
        self._thread.join(timeout=settings.webhook_deadline_seconds + 5)


def purge_outbox(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Purge the program's outbox events past ``settings.outbox_retention_days``; repeatable.

    Only events with no delivery left to try go, with their deliveries
    (see :func:`service.purge_outbox`).
    """
    days = settings.outbox_retention_days
    done = service.purge_outbox(
        database,
        program_id=program.id,
        before=as_of - timedelta(days=days),
        dry_run=dry_run,
        progress=progress,
    )
    said = (
        _(
            "Dry run: {events} outbox events older than {days} days would be purged, with"
            " {deliveries} deliveries and {attempts} attempts."
        )
        if dry_run
        else _(
            "{events} outbox events older than {days} days purged, with {deliveries}"
            " deliveries and {attempts} attempts."
        )
    )
    return Outcome(
        (
            Text(
                said,
                events=done.events,
                days=days,
                deliveries=done.deliveries,
                attempts=done.attempts,
            ),
        )
    )


PURGE_OUTBOX = Task(
    name="purge-outbox",
    help="Delete outbox events older than MEMBERKIT_OUTBOX_RETENTION_DAYS (default 30) with no "
    "delivery left to try, and their deliveries; safe to repeat.\n\nAn event with a delivery "
    "still pending or failing is kept, however old.",
    run=purge_outbox,
    label=_("Purging the outbox"),
    dry_run_help="Only count what would be purged.",
    says_nothing_changed=False,
)
