"""Background services: what runs once per deployment beside the API, not once per process.

Today that is the daily scheduler; the outbox worker joins it with one line in
:func:`services`. Who starts them:

- ``memberkit serve`` (one process): the app's lifespan (:func:`memberkit.app.create_app`).
- ``memberkit serve --workers N``: the serving parent, uvicorn's supervisor, runs them itself
  while N worker processes answer requests on the one port; the workers' apps are built by
  :func:`memberkit.app.create_worker_app`, with the background services off. So they run
  exactly once on the machine, with no election to get wrong: the parent lives as long as
  the server does, and a worker that dies and is replaced starts nothing.
- Past one machine: set ``MEMBERKIT_SCHEDULER=false`` on the API processes and run
  ``memberkit jobs …`` from a real scheduler instead (every job is idempotent).
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


def services(database: Database) -> list[Service]:
    """Return the background services, in starting order (a new one is one more line)."""
    from memberkit.scheduler import Scheduler

    return [Scheduler(database)]


@contextmanager
def running(database: Database, *, enabled: bool | None = None) -> Iterator[list[Service]]:
    """Run the background services for the length of the block.

    ``enabled`` None follows ``settings.scheduler`` (``MEMBERKIT_SCHEDULER``), the one switch
    of all of them.
    """
    started = services(database) if (settings.scheduler if enabled is None else enabled) else []
    for service in started:
        service.start()
    try:
        yield started
    finally:
        for service in reversed(started):
            service.stop()
