"""Coupon jobs: the daily birthday gifts, and bulk issues run in a thread beside the server."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from memberkit.coupon import service
from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
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
