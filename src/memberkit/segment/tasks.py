"""Segment jobs: the daily full refresh, and the refresh of members after their events commit."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from memberkit.db import Database, read_only
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig
from memberkit.segment import service

log = logging.getLogger("memberkit.segment")


class Refresher:
    """One background thread that refreshes members' segments after their events commit.

    The order's request only hands over the member ids (a set update under a lock): the
    cashier never waits for segment SQL. The thread gathers members for ``delay`` seconds
    before it refreshes them, so a busy till's orders cost one refresh per program each
    ``delay``, not one each (on one core, a refresh after every order would slow the next
    order as much as running it inline). A process keeps its own thread; what one lost when
    it stopped, the daily full refresh puts right.
    """

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self._hurry = False
        self._lock = threading.Condition()
        self._pending: dict[tuple[int, int], tuple[Engine, ProgramConfig, set[int]]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None

    def add(self, engine: Engine, program: ProgramConfig, member_ids: frozenset[int]) -> None:
        """Queue these members of the program for a refresh; starts the thread if needed."""
        with self._lock:
            key = (id(engine), program.id)
            _engine, _program, queued = self._pending.get(key, (engine, program, set()))
            # The newest configuration of the program wins: a segment edit may have come since.
            self._pending[key] = (engine, program, queued | member_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="segment-refresh", daemon=True
                )
                self._thread.start()
            self._lock.notify_all()

    def settle(self, timeout: float = 30.0) -> bool:
        """Run what is queued now and wait for it; False if ``timeout`` seconds passed first."""
        with self._lock:
            self._hurry = True
            self._lock.notify_all()
            settled = self._lock.wait_for(lambda: not self._pending and not self._busy, timeout)
            if settled:
                self._hurry = False
            return settled

    def _run(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._pending))
                self._lock.wait_for(lambda: self._hurry, self.delay)
                work, self._pending, self._busy = self._pending, {}, True
                self._hurry = False
            try:
                for engine, program, member_ids in work.values():
                    refresh_now(engine, program, frozenset(member_ids))
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()


#: The process's refresher; :func:`refresh_after_commit` feeds it.
REFRESHER = Refresher()


def refresh_after_commit(
    engine: Engine, program: ProgramConfig, member_ids: frozenset[int]
) -> None:
    """Queue a refresh of the program's rule segments for members whose events just committed.

    It returns at once; :data:`REFRESHER`'s thread does the work after the order's
    transaction, each refresh in its own short one.
    """
    REFRESHER.add(engine, program, member_ids)


def refresh_now(engine: Engine, program: ProgramConfig, member_ids: frozenset[int]) -> None:
    """Re-evaluate the program's rule segments for these members, in a transaction of its own.

    A failure is logged and changes nothing; the daily refresh puts right anything missed.
    """
    try:
        # Most orders move no one: a read says so without the write lock and a durable commit.
        with Session(read_only(engine)) as session, session.begin():
            if not service.members_move(session, program=program, member_ids=member_ids):
                return
        with Session(engine, expire_on_commit=False, autoflush=False) as session, session.begin():
            service.refresh_members(session, program=program, member_ids=member_ids)
    except Exception:
        log.exception("segment refresh of %d members failed", len(member_ids))


def refresh_segments(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Refresh every rule segment of the program in full (a dry run keeps nothing)."""
    with database.session_scope(rollback=dry_run) as session:
        count = service.refresh_all(session, program=program)
    said = (
        _("Dry run: {count} rule segments would be refreshed.")
        if dry_run
        else _("{count} rule segments refreshed.")
    )
    return Outcome((Text(said, count=count),))


REFRESH_SEGMENTS = Task(
    name="refresh-segments",
    help="Refresh every rule segment's members in full, writing who entered and left.",
    run=refresh_segments,
)
