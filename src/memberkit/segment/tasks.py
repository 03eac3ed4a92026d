"""Segment jobs: the daily full refresh, and the refresh of members after their events commit."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from memberkit.db import Database, read_only
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig
from memberkit.segment import service

log = logging.getLogger("memberkit.segment")


def refresh_after_commit(
    engine: Engine, program: ProgramConfig, member_ids: frozenset[int]
) -> None:
    """Re-evaluate the program's rule segments for members whose events committed.

    Run by :data:`memberkit.pipeline.BACKGROUND`'s thread, in a transaction of its own.

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
