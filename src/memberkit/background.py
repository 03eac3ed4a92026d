"""Background services: what runs once per deployment beside the API, not once per process.

That is the daily scheduler (with the resuming of bulk coupon issues a stopped server left
unfinished) and the outbox worker (webhook deliveries), each with its own switch
(``settings.scheduler``, ``settings.outbox_worker``). Who starts them:

- ``memberkit serve`` (one process): the app's lifespan (:func:`memberkit.app.create_app`).
- ``memberkit serve --workers N``: the serving parent, uvicorn's supervisor, runs them itself
  while N worker processes answer requests on the one port; the workers' apps are built by
  :func:`memberkit.app.create_worker_app`, with the background services off. So they run
  exactly once on the machine, with no election to get wrong: the parent lives as long as
  the server does, and a worker that dies and is replaced starts nothing.
- Past one machine: set ``MEMBERKIT_SCHEDULER=false`` on the API processes and run
  ``memberkit jobs …`` from a real scheduler instead (every job is idempotent); set
  ``MEMBERKIT_OUTBOX_WORKER=false`` and run ``memberkit worker`` processes (as many as you like).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from memberkit.config import settings
from memberkit.db import Database

log = logging.getLogger("memberkit.background")


class Service(Protocol):
    """A background service: a thread started once and stopped at shutdown."""

    def start(self) -> None:
        """Start the service's thread."""

    def stop(self) -> None:
        """Stop the thread, waiting briefly for it."""


def services(
    database: Database, *, scheduler: bool | None = None, outbox_worker: bool | None = None
) -> list[Service]:
    """Return the background services switched on, in starting order (None: as settings say)."""
    from memberkit.coupon.tasks import BatchResumer
    from memberkit.scheduler import Scheduler
    from memberkit.webhook.tasks import OutboxWorker

    found: list[Service] = []
    if settings.scheduler if scheduler is None else scheduler:
        found.append(Scheduler(database))
        # Bulk coupon issues a stopped server left unfinished, once per deployment too.
        found.append(BatchResumer(database))
    if settings.outbox_worker if outbox_worker is None else outbox_worker:
        found.append(OutboxWorker(database))
    return found


@contextmanager
def running(
    database: Database, *, scheduler: bool | None = None, outbox_worker: bool | None = None
) -> Iterator[list[Service]]:
    """Run the background services for the length of the block (see :func:`services`)."""
    started = services(database, scheduler=scheduler, outbox_worker=outbox_worker)
    for service in started:
        service.start()
    try:
        yield started
    finally:
        for service in reversed(started):
            service.stop()
