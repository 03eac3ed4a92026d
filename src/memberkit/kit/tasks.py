"""The shape of a job: what each domain's ``tasks.py`` declares for the scheduler and the CLI.

A job runs for one program at a time (:data:`memberkit.tasks.TASKS` loops over every
program); it returns an :class:`Outcome`, the sentences that say what it did, which the CLI
prints in the operator's language and the scheduler logs in English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from memberkit.kit.i18n import Text, _

if TYPE_CHECKING:
    from memberkit.db import Database
    from memberkit.program.service import ProgramConfig

#: ``progress(done, total)``, called as a job goes through members.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Outcome:
    """What one job did for one program (or, in a dry run, would do): sentences, in order."""

    said: tuple[Text, ...]

    def __str__(self) -> str:
        return " ".join(str(sentence) for sentence in self.said)


class Run(Protocol):
    """A job's work for one program; a ``dry_run`` rolls back every transaction it opens."""

    def __call__(
        self,
        database: Database,
        *,
        program: ProgramConfig,
        as_of: datetime,
        dry_run: bool,
        progress: Progress | None,
    ) -> Outcome:
        """Do the job for ``program`` as of ``as_of``; idempotent."""


@dataclass(frozen=True)
class Task:
    """A daily job, run by the scheduler and by hand as ``memberkit jobs <name>``."""

    #: The CLI command and the name in the scheduler's log.
    name: str
    #: The CLI command's help (its first line is the summary).
    help: str
    run: Run
    #: The progress bar's label in the CLI; None: the job runs without one.
    label: str | None = None
    #: The help of ``--as-of``; None: the job has no ``--as-of`` and runs as of now.
    as_of_help: str | None = None
    dry_run_help: str = "Print what the job would do and change nothing (rolled back)."
    #: Whether a dry run closes by saying nothing was changed.
    says_nothing_changed: bool = True
    #: Why the job has nothing to do for a program, if it has not (it is then not run).
    idle: Callable[[ProgramConfig], Text | None] = lambda _program: None


NOTHING_CHANGED = Text(_("Nothing was changed (dry run)."))
