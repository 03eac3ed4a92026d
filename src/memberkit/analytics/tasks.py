"""The analytics daily job: a full refresh of every member's RFM and lifecycle."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from memberkit.analytics import service
from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig

log = logging.getLogger("memberkit.analytics")


def refresh_after_commit(
    engine: Engine, program: ProgramConfig, member_ids: frozenset[int]
) -> None:
    """Recompute the RFM rows of members whose events committed, against the stored cut-offs.

    Run by :data:`memberkit.pipeline.BACKGROUND`'s thread, in a transaction of its own; a
    failure is logged and changes nothing (the daily full refresh puts it right).
    """
    try:
        with Session(engine, expire_on_commit=False, autoflush=False) as session, session.begin():
            service.refresh_members(session, program=program, member_ids=member_ids)
    except Exception:
        log.exception("RFM refresh of %d members failed", len(member_ids))


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
