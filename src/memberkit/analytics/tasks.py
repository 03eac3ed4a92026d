"""The analytics daily job: a full refresh of every member's RFM and lifecycle."""

from __future__ import annotations

from datetime import datetime

from memberkit.analytics import service
from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig


def refresh_rfm(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Refresh the program's RFM as of the local day of ``as_of`` (one transaction)."""
    with database.session_scope(rollback=dry_run) as session:
        done = service.refresh(
            session, program=program, as_of=as_of.astimezone(program.tz).date(), progress=progress
        )
    said = (
        _("Dry run: {members} members would be refreshed, {scored} of them scored.")
        if dry_run
        else _("RFM refreshed as of {as_of}: {members} members, {scored} scored, in {ms} ms.")
    )
    return Outcome(
        (
            Text(
                said,
                as_of=done.as_of,
                members=done.members,
                scored=done.scored,
                ms=done.milliseconds,
            ),
        )
    )


REFRESH_RFM = Task(
    name="refresh-rfm",
    help="Recompute every member's RFM scores, classes and lifecycle; safe to repeat.",
    run=refresh_rfm,
    label=_("Refreshing RFM"),
    as_of_help="Refresh as of this local date (YYYY-MM-DD); default today.",
)
