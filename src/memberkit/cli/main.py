"""The ``memberkit`` command."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from memberkit.config import settings
from memberkit.db import Database, get_database
from memberkit.kit.i18n import _, translate
from memberkit.kit.time import start_of_local_day, today, utcnow

if TYPE_CHECKING:
    from memberkit.program.service import ProgramConfig

app = typer.Typer(
    help="Memberkit: membership and loyalty platform (会员管理系统).", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
jobs_app = typer.Typer(help="Scheduled jobs, run by hand.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
ledger_app = typer.Typer(help="The points ledger.", no_args_is_help=True)
tiers_app = typer.Typer(help="Member tiers.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (jobs_app, "jobs"),
    (apikey_app, "apikey"),
    (import_app, "import"),
    (ledger_app, "ledger"),
    (tiers_app, "tiers"),
):
    app.add_typer(sub, name=name)

console = Console()
DEMO_STAGES = {"members": _("Registering members"), "orders": _("Posting orders and refunds")}


def say(message: str, /, **params: object) -> None:
    """Print a translated message; its parameters may hold anything (no console markup)."""
    console.print(translate(message, **params), markup=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from memberkit import migrate
    from memberkit.program import service as program_service

    database = get_database()
    before = migrate.current(database.engine)
    migrate.upgrade(database.engine)
    with database.session_scope() as session:
        program_service.ensure_default(session)
    after = migrate.current(database.engine)
    url = database.engine.url.render_as_string()
    if before is None:
        say(_("Database created at revision {revision}: {url}"), revision=after, url=url)
    elif before != after:
        say(
            _("Database migrated from revision {old} to {revision}: {url}"),
            old=before,
            revision=after,
            url=url,
        )
    else:
        say(
            _("Database was already up to date (revision {revision}): {url}"),
            revision=after,
            url=url,
        )


def _require_schema() -> Database:
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


@db_app.command("reencrypt")
def db_reencrypt() -> None:
    """Rewrite members' legacy (v1) ciphertexts as v2, bound to their member; safe to repeat."""
    from memberkit.member import service as member_service

    database = _require_schema()
    total = 0
    while True:
        with database.session_scope() as session:
            done = member_service.reencrypt(session)
        if not done:
            break
        total += done
    say(_("{members} members re-encrypted."), members=total)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the API (docs at /docs) with the daily scheduler inside; access logs are masked."""
    import uvicorn

    from memberkit import migrate
    from memberkit.api.access_log import log_config
    from memberkit.app import create_app

    if migrate.pending(get_database().engine):
        say(_("The database schema is behind; run: memberkit db upgrade"))
        raise typer.Exit(1)
    say(_("Memberkit is running on http://{host}:{port} (API docs: /docs)"), host=host, port=port)
    # The access log masks phone numbers and QR tokens left in URLs (GET ?phone=…).
    uvicorn.run(create_app(), host=host, port=port, log_level="info", log_config=log_config())


@app.command()
def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if members exist.")
    ] = False,
    members: Annotated[int, typer.Option(min=1, help="How many members.")] = 5000,
    orders: Annotated[int, typer.Option(min=0, help="How many orders.")] = 60000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same data.")
    ] = 20261122,
) -> None:
    """Load a deterministic demo chain: ~20 stores, members, two years of orders, refunds."""
    from memberkit import demo as demo_data

    database = _require_schema()
    if not demo_data.is_empty(database):
        if if_empty:
            say(_("Demo data not loaded: the database already has members."))
            return
        say(_("The database already has members; demo data goes into an empty database."))
        raise typer.Exit(1)
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(translate(DEMO_STAGES[stage]), total=total)
            progress.update(tasks[stage], completed=done)

        summary = demo_data.load(
            database, members=members, orders=orders, seed=seed, now=utcnow(), progress=report
        )
    say(
        _(
            "Demo loaded: {stores} stores, {members} members, {orders} orders "
            "({points_payments} paid partly with points, {wallet_payments} with stored value), "
            "{refunds} refunds, {recharges} stored-value recharges, {expired} points expired."
        ),
        stores=summary.stores,
        wallet_payments=summary.wallet_payments,
        recharges=summary.recharges,
        members=summary.members,
        orders=summary.orders,
        points_payments=summary.points_payments,
        refunds=summary.refunds,
        expired=summary.expired_points,
    )
    say(
        _("Tier reviews due in those two years: {kept} kept their tier, {lowered} moved down."),
        kept=summary.tiers_kept,
        lowered=summary.tiers_lowered,
    )


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'POS SH001'.")],
    scope: Annotated[str, typer.Option(help="admin, pos or read.")],
    store: Annotated[str | None, typer.Option(help="Bind the key to one store code.")] = None,
) -> None:
    """Create an API key; the key itself is printed once, alone on the last line."""
    from memberkit.auth import service as auth_service
    from memberkit.errors import MemberkitError
    from memberkit.program import service as program_service

    database = _require_schema()
    try:
        with database.session_scope() as session:
            program = program_service.get(session)
            key = auth_service.create(
                session, program_id=program.id, name=name, scope=scope, store_code=store
            )
    except MemberkitError as exc:
        console.print(f"[red]{exc.detail()}[/red]")
        raise typer.Exit(2) from None
    say(
        _("API key created for {name} (scope {scope}). Store it now; it is not shown again:"),
        name=name,
        scope=scope,
    )
    print(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """List the program's API keys (prefix, name, scope, store, revoked); never the keys."""
    from rich.table import Table

    from memberkit.auth import service as auth_service
    from memberkit.kit.time import iso

    database = _require_schema()
    with database.session_scope() as session:
        program = _program(database)
        keys = auth_service.list_keys(session, program_id=program.id)
    table = Table()
    for heading in (_("Id"), _("Prefix"), _("Name"), _("Scope"), _("Store"), _("Revoked")):
        table.add_column(translate(heading))
    for key in keys:
        table.add_row(
            str(key.id),
            key.prefix,
            key.name,
            key.scope,
            key.store_code or "",
            iso(key.revoked_at) if key.revoked_at else "",
        )
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(
    ref: Annotated[str, typer.Argument(help="The key's prefix (as in 'list') or id.")],
) -> None:
    """Revoke an API key: every process refuses it from the next request on."""
    from memberkit.auth import service as auth_service
    from memberkit.errors import MemberkitError

    database = _require_schema()
    try:
        with database.session_scope() as session:
            program = _program(database)
            key = auth_service.revoke(session, program_id=program.id, ref=ref)
    except MemberkitError as exc:
        console.print(f"[red]{exc.detail()}[/red]")
        raise typer.Exit(2) from None
    say(_("API key {prefix} ({name}) is revoked."), prefix=key.prefix, name=key.name)


@import_app.command("members")
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

    database = _require_schema()
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        try:
            importer.check_header(list(reader.fieldnames or []))
        except importer.ImportFileError as exc:
            say(_("{file} cannot be imported: {problem}"), file=str(file), problem=exc.text)
            raise typer.Exit(2) from None
        rows: list[dict[str | None, str | list[str] | None]] = list(reader)
    with _progress() as progress:
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


#: ``--dry-run`` of every job: the same work in transactions that are rolled back.
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print what the job would do and change nothing (rolled back)."),
]


@jobs_app.command("expire-points")
def expire_points(
    as_of: Annotated[
        str | None,
        typer.Option(help="Expire as at the start of this local date (YYYY-MM-DD); default now."),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Expire every points lot due by now (or by --as-of); safe to repeat."""
    from memberkit.ledger import expiry

    moment = _as_of(as_of, dry_run=dry_run)
    database = _require_schema()
    result = _job(
        _("Expiring points"),
        lambda progress: expiry.run(database, as_of=moment, progress=progress, dry_run=dry_run),
    )
    say(
        _("Dry run: {points} points would expire in {lots} lots of {members} members.")
        if dry_run
        else _("{points} points expired in {lots} lots of {members} members."),
        points=result.points,
        lots=result.lots,
        members=result.members,
    )
    _dry_run_said(dry_run)


@jobs_app.command("review-tiers")
def review_tiers(
    as_of: Annotated[
        str | None,
        typer.Option(help="Review as at the start of this local date (YYYY-MM-DD); default now."),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Review members whose tier period has ended: keep, or move down; safe to repeat."""
    from memberkit.tier import service as tier_service

    moment = _as_of(as_of, dry_run=dry_run)
    database = _require_schema()
    program = _program(database)
    result = _job(
        _("Reviewing tiers"),
        lambda progress: tier_service.review(
            database, program=program, as_of=moment, progress=progress, dry_run=dry_run
        ),
    )
    say(
        _(
            "Dry run: {reviewed} members would be reviewed: {kept} would keep their tier, "
            "{downgraded} would move down."
        )
        if dry_run
        else _("{reviewed} members reviewed: {kept} kept their tier, {downgraded} moved down."),
        reviewed=result.reviewed,
        kept=result.kept,
        downgraded=result.downgraded,
    )
    say(
        _(
            "Dry run: {notified} grace notices would be recorded for reviews in the next "
            "{days} days."
        )
        if dry_run
        else _("{notified} grace notices recorded for reviews in the next {days} days."),
        notified=result.notified,
        days=program.ladder.notice_days,
    )
    _dry_run_said(dry_run)


@jobs_app.command("decay-growth")
def decay_growth(
    as_of: Annotated[
        str | None,
        typer.Option(help="Decay as at the start of this local date (YYYY-MM-DD); default now."),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """Take the configured share of growth from members who earned none for a while."""
    from memberkit.growth import decay

    moment = _as_of(as_of, dry_run=dry_run)
    database = _require_schema()
    program = _program(database)
    if program.decay is None:
        say(_("The growth rules set no decay: nothing to do."))
        return
    decayed = _job(
        _("Decaying growth"),
        lambda progress: decay.run(
            database, program=program, as_of=moment, progress=progress, dry_run=dry_run
        ),
    )
    say(
        _("Dry run: {growth} growth would decay from {members} members.")
        if dry_run
        else _("{growth} growth decayed from {members} members."),
        growth=decayed.growth,
        members=decayed.members,
    )
    _dry_run_said(dry_run)


def _dry_run_said(dry_run: bool) -> None:
    """Close a dry run's report by saying nothing was changed."""
    if dry_run:
        say(_("Nothing was changed (dry run)."))


@jobs_app.command("purge-idempotency")
def purge_idempotency(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be purged.")
    ] = False,
) -> None:
    """Delete stored first responses older than the program's retention period; safe to repeat.

    Duplicates stay refused after it by the business keys (order external id, phone).
    """
    from memberkit.idempotency import tasks as idempotency_tasks

    records = idempotency_tasks.purge(_require_schema(), as_of=utcnow(), dry_run=dry_run)
    if dry_run:
        say(_("Dry run: {records} idempotency records would be purged."), records=records)
    else:
        say(_("{records} idempotency records purged."), records=records)


T = TypeVar("T")


def _program(database: Database) -> ProgramConfig:
    """Return the program's configuration."""
    from memberkit.program import service as program_service

    with database.session_scope(read_only=True) as session:
        return program_service.get(session)


def _job(label: str, run: Callable[[Callable[[int, int], None]], T]) -> T:
    """Run a job that reports ``(done, total)`` under a progress bar labelled ``label``."""
    with _progress() as progress:
        task = progress.add_task(translate(label), total=None)
        return run(lambda done, total: progress.update(task, completed=done, total=total))


def _as_of(as_of: str | None, *, dry_run: bool) -> datetime:
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
    if day > today() and not dry_run:
        say(
            _(
                "--as-of {day} is after today ({today}): a job run for a future date would "
                "act ahead of time and cannot be undone (--dry-run shows what it would do)."
            ),
            day=day.isoformat(),
            today=today().isoformat(),
        )
        raise typer.Exit(2)
    return start_of_local_day(day)


@tiers_app.command("simulate")
def tiers_simulate(
    thresholds: Annotated[
        str, typer.Option(help="Growth needed per tier above the first, e.g. 1000,5000,20000.")
    ],
    spend: Annotated[
        str | None,
        typer.Option(help="Or a rolling spend per tier (0 for none), e.g. 0,2000.00,0."),
    ] = None,
    spend_days: Annotated[int, typer.Option(help="The spend window in days.")] = 30,
) -> None:
    """Show where proposed thresholds would put members, compared with today (what-if)."""
    from rich.table import Table

    from memberkit.errors import MemberkitError
    from memberkit.kit.money import MoneyFormatError, display_money, parse_money
    from memberkit.program import service as program_service
    from memberkit.tier.simulate import Proposal, simulate

    try:
        proposal = Proposal(
            growth=[int(part) for part in thresholds.split(",")],
            spend=[parse_money(part.strip()) for part in spend.split(",")] if spend else None,
            spend_days=spend_days,
        )
        with _require_schema().session_scope() as session:
            program = program_service.get(session)
            result = simulate(
                session,
                program_id=program.id,
                ladder=program.ladder,
                proposal=proposal,
                now=utcnow(),
            )
    except (ValueError, MoneyFormatError):
        say(_("Thresholds are comma-separated numbers, e.g. 1000,5000,20000."))
        raise typer.Exit(2) from None
    except MemberkitError as exc:
        console.print(f"[red]{exc.detail()}[/red]")
        raise typer.Exit(2) from None
    growth = Table(title=translate(_("Members by growth value")))
    growth.add_column(translate(_("Growth")))
    growth.add_column(translate(_("Members")), justify="right")
    for bucket in result.growth_histogram:
        growth.add_row(
            f"{bucket.low:,}–{bucket.high:,}" if bucket.high else f"{bucket.low:,}+",
            f"{bucket.members:,}",
        )
    console.print(growth)
    spent = Table(title=translate(_("Members by spend in the last {days} days"), days=spend_days))
    spent.add_column(translate(_("Spend")))
    spent.add_column(translate(_("Members")), justify="right")
    for bucket in result.spend_histogram:
        label = (
            f"{display_money(bucket.low)}–{display_money(bucket.high)}"
            if bucket.high
            else f"{display_money(bucket.low)}+"
        )
        spent.add_row(label, f"{bucket.members:,}")
    console.print(spent)
    tiers = Table(title=translate(_("Tiers today and with the proposed thresholds")))
    for heading in (_("Tier"), _("Today"), _("Proposed")):
        tiers.add_column(translate(heading), justify="left" if heading == "Tier" else "right")
    for count in result.tiers:
        tiers.add_row(count.name, f"{count.today:,}", f"{count.proposed:,}")
    console.print(tiers)
    say(
        _("{members} members: {up} would move up, {down} down, {same} stay."),
        members=f"{result.members:,}",
        up=f"{result.up:,}",
        down=f"{result.down:,}",
        same=f"{result.unchanged:,}",
    )


@ledger_app.command("check")
def ledger_check() -> None:
    """Verify the ledger: zero-sum transactions, balances and lots equal to their entries."""
    from memberkit.ledger.check import check

    # Read-only: a check of a large ledger never holds up the writers of a running server.
    with _require_schema().session_scope(read_only=True) as session:
        report = check(session)
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]")
    for member_no, debt in report.debts:
        say(
            _("Member {member_no} owes {debt} points (claw-back of spent points)."),
            member_no=member_no,
            debt=debt,
        )
    for member_no, debt in report.growth_debts:
        say(
            _(
                "Member {member_no} has negative growth, {growth} (a refund took back growth "
                "that had already decayed)."
            ),
            member_no=member_no,
            growth=-debt,
        )
    if report.ok:
        say(
            _(
                "Ledger holds: {transactions} transactions, {accounts} member accounts, "
                "{lots} lots checked."
            ),
            transactions=report.transactions,
            accounts=report.accounts,
            lots=report.lots,
        )
    else:
        say(_("Ledger check failed: {count} problems."), count=len(report.problems))
        raise typer.Exit(1)


from memberkit.cli.webhook import webhook_app, worker  # noqa: E402 (uses the helpers above)

app.add_typer(webhook_app, name="webhook")
app.command()(worker)

__all__ = ["app", "datetime", "settings", "timedelta"]
