"""``memberkit jobs``: the scheduled jobs, run by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from memberkit.cli.common import default_program, require_schema, say, with_progress
from memberkit.kit.i18n import _
from memberkit.kit.time import start_of_local_day, today, utcnow

app = typer.Typer(help="Scheduled jobs, run by hand.", no_args_is_help=True)


#: ``--dry-run`` of every job: the same work in transactions that are rolled back.
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print what the job would do and change nothing (rolled back)."),
]


@app.command("expire-points")
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
    database = require_schema()
    result = with_progress(
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


@app.command("review-tiers")
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
    database = require_schema()
    program = default_program(database)
    result = with_progress(
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


@app.command("decay-growth")
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
    database = require_schema()
    program = default_program(database)
    if program.decay is None:
        say(_("The growth rules set no decay: nothing to do."))
        return
    decayed = with_progress(
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


@app.command("purge-idempotency")
def purge_idempotency(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be purged.")
    ] = False,
) -> None:
    """Delete stored first responses older than the program's retention period; safe to repeat.

    Duplicates stay refused after it by the business keys (order external id, phone).
    """
    from memberkit.idempotency import tasks as idempotency_tasks

    records = idempotency_tasks.purge(require_schema(), as_of=utcnow(), dry_run=dry_run)
    if dry_run:
        say(_("Dry run: {records} idempotency records would be purged."), records=records)
    else:
        say(_("{records} idempotency records purged."), records=records)


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
