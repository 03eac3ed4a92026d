"""Coupon jobs: the daily birthday gifts, and bulk issues run in a thread beside the server."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from memberkit.coupon import queries, service
from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig

log = logging.getLogger("memberkit.coupon")


def give_birthday_gifts(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Give today's (in the program's timezone) birthday gifts (see the service); idempotent."""
    result = service.give_birthday_gifts(database, program=program, as_of=as_of, dry_run=dry_run)
    said = (
        _(
            "Dry run: {members} members have their birthday; {issued} birthday coupons would "
            "be given, {refused} refused."
        )
        if dry_run
        else _(
            "{members} members have their birthday: {issued} birthday coupons given, "
            "{refused} refused."
        )
    )
    return Outcome(
        (Text(said, members=result.members, issued=result.issued, refused=result.refused),)
    )


BIRTHDAY_COUPONS = Task(
    name="birthday-coupons",
    help="Give the birthday coupons of members whose birthday is today; safe to repeat.",
    run=give_birthday_gifts,
    as_of_help="Give the gifts of this local date (YYYY-MM-DD); default today.",
)


def run_in_background(
    database: Database, *, program: ProgramConfig, batch_id: int
) -> threading.Thread:
    """Work through a bulk issue in a thread (a run cut short is resumed by starting it again)."""

    def work() -> None:
        try:
            service.run_batch(database, program=program, batch_id=batch_id)
        except Exception:  # the batch stays unfinished and is resumed on the next start
            log.exception("coupon batch %s stopped", batch_id)

    thread = threading.Thread(target=work, name=f"memberkit-coupon-batch-{batch_id}", daemon=True)
    thread.start()
    return thread


def resume(database: Database) -> list[int]:
    """Finish the bulk issues left unfinished (a server stopped mid-batch), oldest first."""
    with database.session_scope(read_only=True) as session:
        unfinished = queries.unfinished_batches(session)
    for batch_id, program_id in unfinished:
        with database.session_scope(read_only=True) as session:
            program = program_service.by_id(session, program_id)
        service.run_batch(database, program=program, batch_id=batch_id)
    return [batch_id for batch_id, _program_id in unfinished]


class BatchResumer:
    """A background service: once at start, finish the bulk issues a stopped server left.

    Started beside the scheduler (:mod:`memberkit.background`), so once per deployment. A
    batch's chunk and its progress commit together: a server stopped again mid-chunk loses
    nothing, and the next start goes on from there.
    """

    def __init__(self, database: Database) -> None:
        """Prepare to resume the unfinished batches of ``database``."""
        self.database = database
        self._thread = threading.Thread(
            target=self._run, name="memberkit-coupon-resume", daemon=True
        )

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Wait briefly for the thread (a chunk cut short is rolled back, and redone later)."""
        self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            resumed = resume(self.database)
        except Exception:
            log.exception("resuming coupon batches stopped")
            return
        if resumed:
            log.info("coupon batches resumed: %s", resumed)
