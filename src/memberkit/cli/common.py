"""What every command group shares: console output, progress bars, the schema check."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from memberkit.db import Database, get_database
from memberkit.kit.i18n import _, translate

if TYPE_CHECKING:
    from memberkit.errors import MemberkitError
    from memberkit.program.service import ProgramConfig

console = Console()

T = TypeVar("T")


def say(message: str, /, **params: object) -> None:
    """Print a translated message; its parameters may hold anything (no console markup)."""
    console.print(translate(message, **params), markup=False)


def refuse(exc: MemberkitError) -> NoReturn:
    """Print a domain error's translated detail in red and exit with code 2."""
    console.print(f"[red]{exc.detail()}[/red]")
    raise typer.Exit(2) from None


def progress_bar() -> Progress:
    """A progress bar on the console that stays visible when done."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def require_schema() -> Database:
    """Return the database, or exit with code 2 if its schema is missing or behind."""
    from memberkit import migrate

    database = get_database()
    if migrate.pending(database.engine):
        console.print(
            translate(
                _("The database is not set up or not up to date: run `memberkit db upgrade` first.")
            ),
            markup=False,
            style="red",
        )
        raise typer.Exit(2)
    return database


def default_program(database: Database) -> ProgramConfig:
    """Return the default program's configuration."""
    from memberkit.program import service as program_service

    with database.session_scope(read_only=True) as session:
        return program_service.get(session)


def with_progress(label: str, run: Callable[[Callable[[int, int], None]], T]) -> T:
    """Run work that reports ``(done, total)`` under a progress bar labelled ``label``."""
    with progress_bar() as progress:
        task = progress.add_task(translate(label), total=None)
        return run(lambda done, total: progress.update(task, completed=done, total=total))
