"""``memberkit import``: data from CSV files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from memberkit.cli.common import progress_bar, require_schema, say
from memberkit.kit.i18n import _, translate

app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)


@app.command("members")
def import_members(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV with a header row: phone, name, gender, "
            "birthday, email, store_code, channel, tags (;-separated).",
        ),
    ],
) -> None:
    """Import members from CSV: bad rows reported, the rest imported, known phones skipped.

    Rows are checked as the API checks a registration; gender may be written 男 or 女.
    """
    from memberkit.member import importer

    database = require_schema()
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            importer.check_header(list(reader.fieldnames or []))
        except importer.ImportFileError as exc:
            say(_("{file} cannot be imported: {problem}"), file=str(file), problem=exc.text)
            raise typer.Exit(2) from None
        rows: list[dict[str | None, str | list[str] | None]] = list(reader)
    with progress_bar() as progress:
        task = progress.add_task(translate(_("Importing members")), total=len(rows))
        result = importer.import_rows(
            database, rows, progress=lambda n: progress.update(task, completed=n)
        )
    for line, message in result.errors:
        say(_("Row {line}: {message}"), line=line, message=message)
    say(
        _("{created} members imported, {skipped} already present, {failed} rows with errors."),
        created=result.created,
        skipped=result.skipped,
        failed=len(result.errors),
    )
    if result.errors:
        raise typer.Exit(1)
