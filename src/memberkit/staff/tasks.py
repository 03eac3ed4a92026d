"""The daily purge of staff sessions that have ended and of old sign-in attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig
from memberkit.staff import service

#: How long sign-in attempts are kept (the lock-out needs minutes of them; this is for people).
KEEP_ATTEMPTS = timedelta(days=30)


def purge(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Delete the program's ended sessions and sign-in attempts past 30 days; safe to repeat."""
    with database.session_scope(rollback=dry_run) as session:
        sessions, attempts = service.purge(
            session, program_id=program.id, now=as_of, keep_attempts=KEEP_ATTEMPTS
        )
    said = (
        _(
            "Dry run: {sessions} ended staff sessions and {attempts} sign-in attempts would be"
            " purged."
        )
        if dry_run
        else _("{sessions} ended staff sessions and {attempts} sign-in attempts purged.")
    )
    return Outcome((Text(said, sessions=sessions, attempts=attempts),))


PURGE_SESSIONS = Task(
    name="purge-sessions",
    help="Delete staff sessions that have ended and sign-in attempts older than 30 days; safe "
    "to repeat.",
    run=purge,
    dry_run_help="Only count what would be purged.",
    says_nothing_changed=False,
)
