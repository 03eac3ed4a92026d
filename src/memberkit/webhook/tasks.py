"""The outbox worker: fan out, claim, deliver, and wait a short poll interval when idle.

It runs alone as ``memberkit worker`` (scaled out: as many as you like, they share the work)
or as a thread inside ``memberkit serve`` (the embedded default, ``settings.outbox_worker``).
"""

from __future__ import annotations

import logging
import threading

from memberkit.config import settings
from memberkit.db import Database, is_busy
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
