"""The ledger's daily job: points expiry."""

from __future__ import annotations

from datetime import datetime

from memberkit.db import Database
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.ledger import expiry
from memberkit.program.service import ProgramConfig


def expire_points(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Expire the program's points lots due by ``as_of`` (see :func:`expiry.run`)."""
    result = expiry.run(database, program=program, as_of=as_of, progress=progress, dry_run=dry_run)
    said = (
        _("Dry run: {points} points would expire in {lots} lots of {members} members.")
        if dry_run
        else _("{points} points expired in {lots} lots of {members} members.")
    )
    return Outcome((Text(said, points=result.points, lots=result.lots, members=result.members),))


EXPIRE_POINTS = Task(
    name="expire-points",
    help="Expire every points lot due by now (or by --as-of); safe to repeat.",
    run=expire_points,
    label=_("Expiring points"),
    as_of_help="Expire as at the start of this local date (YYYY-MM-DD); default now.",
)
