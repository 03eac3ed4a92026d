"""Growth's daily job: decay of idle members' growth."""

from __future__ import annotations

from datetime import datetime

from memberkit.db import Database
from memberkit.growth import decay
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig


def decay_growth(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Decay the growth of the program's members due by ``as_of`` (see :func:`decay.run`)."""
    result = decay.run(database, program=program, as_of=as_of, progress=progress, dry_run=dry_run)
    said = (
        _("Dry run: {growth} growth would decay from {members} members.")
        if dry_run
        else _("{growth} growth decayed from {members} members.")
    )
    return Outcome((Text(said, growth=result.growth, members=result.members),))


def _no_decay(program: ProgramConfig) -> Text | None:
    """Say so when the program's growth rules set no decay."""
    if program.decay is None:
        return Text(_("The growth rules set no decay: nothing to do."))
    return None


DECAY_GROWTH = Task(
    name="decay-growth",
    help="Take the configured share of growth from members who earned none for a while.",
    run=decay_growth,
    label=_("Decaying growth"),
    as_of_help="Decay as at the start of this local date (YYYY-MM-DD); default now.",
    idle=_no_decay,
)
