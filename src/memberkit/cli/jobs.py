"""``memberkit jobs``: the daily jobs run by hand, one command per job of the registry.

Each command runs its job for every program in the database, one after another; with more
than one program each program's report is headed by its code. A job that fails for one
program is reported and the others still run; the command then exits with code 1.
"""

# No ``from __future__ import annotations``: Typer reads the options' help from annotations
# built in :func:`_command`, which must stay objects, not strings.

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from memberkit.cli.common import console, require_schema, say, with_progress
from memberkit.db import Database
from memberkit.kit.i18n import _, translate
from memberkit.kit.tasks import NOTHING_CHANGED, Outcome, Task
from memberkit.kit.time import showing_in, start_of_local_day, today, utcnow
from memberkit.program.service import ProgramConfig
from memberkit.tasks import TASKS, programs

app = typer.Typer(help="Scheduled jobs, run by hand.", no_args_is_help=True)


def run(task: Task, *, as_of: str | None, dry_run: bool) -> None:
    """Run ``task`` for every program and say what it did for each."""
    database = require_schema()
    every = programs(database)
    # Each program's --as-of is a day of its own calendar; all are checked before any runs.
    moments = {program.id: _as_of(as_of, dry_run=dry_run, tz=program.tz) for program in every}
    ran = failed = False
    for program in every:
        if len(every) > 1:
            say(_("Program {code} ({name}):"), code=program.code, name=program.name)
        if (idle := task.idle(program)) is not None:
            console.print(idle.translate(), markup=False)
            continue
        try:
            with showing_in(program.tz):
                outcome = _run_one(
                    task,
                    database=database,
                    program=program,
                    as_of=moments[program.id],
                    dry_run=dry_run,
                )
        except Exception as exc:  # one program's failure must not stop the others
            console.print(_failed(task, program=program, exc=exc), markup=False, style="red")
            failed = True
            continue
        for sentence in outcome.said:
            console.print(sentence.translate(), markup=False)
        ran = True
    if dry_run and ran and task.says_nothing_changed:
        console.print(NOTHING_CHANGED.translate(), markup=False)
    if failed:
        raise typer.Exit(1)


def _run_one(
    task: Task, *, database: Database, program: ProgramConfig, as_of: datetime, dry_run: bool
) -> Outcome:
    """Run ``task`` for one program, under a progress bar if the job has a label."""
    if task.label is None:
        return task.run(database, program=program, as_of=as_of, dry_run=dry_run, progress=None)
    return with_progress(
        task.label,
        lambda progress: task.run(
            database, program=program, as_of=as_of, dry_run=dry_run, progress=progress
        ),
    )


def _failed(task: Task, *, program: ProgramConfig, exc: Exception) -> str:
    """Say that ``task`` failed for ``program``, and why."""
    return translate(
        _("{job} failed for program {code}: {error}"),
        job=task.name,
        code=program.code,
        error=f"{type(exc).__name__}: {exc}",
    )


#: The earliest ``--as-of``: the oldest history a program may hold.
EARLIEST_AS_OF = date(1990, 1, 1)


def _as_of(as_of: str | None, *, dry_run: bool, tz: ZoneInfo) -> datetime:
    """Return the start of a local date given as text, or now; refuse a date after today.

    A job run for a future date acts at once and for good (points expired, growth decayed,
    tiers lowered ahead of time), so ``--as-of`` may name today at the latest, in the
    program's timezone. A dry run changes nothing, so it may look ahead.
    """
    if as_of is None:
        return utcnow()
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        say(_("--as-of must be a date like 2026-12-31."))
        raise typer.Exit(2) from None
    earliest, latest = EARLIEST_AS_OF, date(today(tz).year + 100, 12, 31)
    if not earliest <= day <= latest:
        # Far dates overflow the calendar arithmetic of the jobs (periods, validity ends).
        say(
            _("--as-of {day} is out of range: from {earliest} to {latest}."),
            day=day.isoformat(),
            earliest=earliest.isoformat(),
            latest=latest.isoformat(),
        )
        raise typer.Exit(2)
    if day > today(tz) and not dry_run:
        say(
            _(
                "--as-of {day} is after today ({today}): a job run for a future date would "
                "act ahead of time and cannot be undone (--dry-run shows what it would do)."
            ),
            day=day.isoformat(),
            today=today(tz).isoformat(),
        )
        raise typer.Exit(2)
    return start_of_local_day(day, tz)


def _command(task: Task) -> Callable[..., None]:
    """Build the Typer command of ``task``: ``--dry-run``, and ``--as-of`` if the job has it."""
    dry_run_option = typer.Option("--dry-run", help=task.dry_run_help)
    if task.as_of_help is None:

        def command(dry_run: Annotated[bool, dry_run_option] = False) -> None:
            run(task, as_of=None, dry_run=dry_run)

    else:
        as_of_option = typer.Option(help=task.as_of_help)

        def command(  # type: ignore[misc]
            as_of: Annotated[str | None, as_of_option] = None,
            dry_run: Annotated[bool, dry_run_option] = False,
        ) -> None:
            run(task, as_of=as_of, dry_run=dry_run)

    return command


for _task in TASKS:
    app.command(_task.name, help=_task.help)(_command(_task))
