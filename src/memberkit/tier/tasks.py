"""Tiers' daily job: the period-end review, and grace notices for the reviews ahead."""

from __future__ import annotations

from datetime import datetime

from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig
from memberkit.tier import service


def review_tiers(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Review the program's members whose period ended by ``as_of`` (see :func:`service.review`)."""
    result = service.review(
        database, program=program, as_of=as_of, progress=progress, dry_run=dry_run
    )
    reviewed = (
        _(
            "Dry run: {reviewed} members would be reviewed: {kept} would keep their tier, "
            "{downgraded} would move down."
        )
        if dry_run
        else _("{reviewed} members reviewed: {kept} kept their tier, {downgraded} moved down.")
    )
    notified = (
        _(
            "Dry run: {notified} grace notices would be recorded for reviews in the next "
            "{days} days."
        )
        if dry_run
        else _("{notified} grace notices recorded for reviews in the next {days} days.")
    )
    return Outcome(
        (
            Text(
                reviewed,
                reviewed=result.reviewed,
                kept=result.kept,
                downgraded=result.downgraded,
            ),
            Text(notified, notified=result.notified, days=program.ladder.notice_days),
        )
    )


REVIEW_TIERS = Task(
    name="review-tiers",
    help="Review members whose tier period has ended: keep, or move down; safe to repeat.",
    run=review_tiers,
    label=_("Reviewing tiers"),
    as_of_help="Review as at the start of this local date (YYYY-MM-DD); default now.",
)
