"""``memberkit import``: data from CSV files."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from memberkit.cli.common import progress_bar, require_schema, say
from memberkit.kit.i18n import Text, _, translate

app = typer.Typer(help="Import data from CSV (and Parquet) files.", no_args_is_help=True)


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
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            importer.check_header(list(reader.fieldnames or []))
            rows: list[dict[str | None, str | list[str] | None]] = list(reader)
    except importer.ImportFileError as exc:
        say(_("{file} cannot be imported: {problem}"), file=str(file), problem=exc.text)
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        say(
            _("{file} cannot be imported: {problem}"),
            file=str(file),
            problem=Text(_("it is not UTF-8 text: save the file as UTF-8 (CSV UTF-8)")),
        )
        raise typer.Exit(2) from None
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


@app.command("orders")
def import_orders(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="CSV (UTF-8, header row) or Parquet (.parquet), one row per order or refund: "
            "type (order|refund), external_id, order_external_id (refunds), occurred_at "
            "(ISO 8601; without an offset in the program's timezone; from 1990-01-01), "
            "member_no | external_ref | phone (none: a non-member sale), store_code, channel, "
            "amount (yuan as text, 128.50), sku, category, qty (the order's one line).",
        ),
    ],
    create_members: Annotated[
        bool,
        typer.Option(
            "--create-members",
            help="Enrol a customer not found who has a phone (with the row's external_ref).",
        ),
    ] = False,
) -> None:
    """Import past orders and refunds from an old system; by default they earn nothing.

    The ``history`` settings section may have members' orders earn growth, or points and
    growth, by the rules on each order's date (and their refunds take back their share).

    Idempotent by external id: what is already imported is counted and left alone. Bad rows
    are reported with their line and the rest imported; the exit code is 1 when any was bad.
    """
    from memberkit.order import importer

    database = require_schema()
    parquet = file.suffix.lower() == ".parquet"
    try:
        header, total, rows = _parquet_rows(file) if parquet else _csv_rows(file)
        importer.check_header(header)
    except importer.ImportFileError as exc:
        say(_("{file} cannot be imported: {problem}"), file=str(file), problem=exc.text)
        raise typer.Exit(2) from None
    with progress_bar() as progress:
        task = progress.add_task(translate(_("Importing orders")), total=total)
        result = importer.import_rows(
            database,
            rows,
            create_members=create_members,
            progress=lambda n: progress.update(task, completed=n),
        )
    for line, message in result.errors:
        say(_("Row {line}: {message}"), line=line, message=message.translate())
    say(
        _(
            "{orders} orders and {refunds} refunds imported ({non_member} non-member orders), "
            "{present} already present, {created} members created, {failed} rows with errors."
        ),
        orders=result.orders,
        refunds=result.refunds,
        non_member=result.non_member_orders,
        present=result.already_present,
        created=result.members_created,
        failed=len(result.errors),
    )
    if result.errors:
        raise typer.Exit(1)


def _csv_rows(file: Path) -> tuple[list[str], int, Iterator[dict[str, object]]]:
    """The header, the count of rows, and the rows as read (streamed, not held)."""
    from memberkit.order.importer import ImportFileError

    # The count reads the whole file first: one that is not UTF-8 is refused before any row.
    lines = 0
    with file.open("rb") as raw:
        for lines, line in enumerate(raw, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise ImportFileError(
                    _("line {line} is not UTF-8 text: save the file as UTF-8 (CSV UTF-8)"),
                    line=lines,
                ) from None
    total = max(lines - 1, 0)
    handle = file.open(newline="", encoding="utf-8-sig")
    reader = csv.DictReader(handle)
    header = [name.strip().lower() for name in reader.fieldnames or []]

    def rows() -> Iterator[dict[str, object]]:
        with handle:
            for row in reader:
                yield {
                    (key.strip().lower() if key is not None else None): value  # type: ignore[misc]
                    for key, value in row.items()
                }

    return header, total, rows()


def _parquet_rows(file: Path) -> tuple[list[str], int, Iterator[dict[str, object]]]:
    """A Parquet file's columns, its row count and its rows, read a record batch at a time."""
    import pyarrow.parquet as pq

    from memberkit.order.importer import ImportFileError

    try:
        parquet = pq.ParquetFile(file)
    except Exception as exc:  # pyarrow's errors have no common public base
        raise ImportFileError(_("not a Parquet file: {problem}"), problem=str(exc)[:200]) from None
    header = [name.strip().lower() for name in parquet.schema_arrow.names]

    def rows() -> Iterator[dict[str, object]]:
        for batch in parquet.iter_batches(batch_size=10_000):
            names = [name.strip().lower() for name in batch.schema.names]
            for row in batch.to_pylist():
                yield dict(zip(names, row.values(), strict=True))

    return header, parquet.metadata.num_rows, rows()
