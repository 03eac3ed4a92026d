"""``memberkit forecast``: churn risk and lifetime value (BG/NBD + Gamma-Gamma)."""

from __future__ import annotations

from datetime import date

import typer

from memberkit.cli.common import console, refuse, require_schema, say, with_progress
from memberkit.errors import MemberkitError
from memberkit.kit.i18n import _

app = typer.Typer(help="Churn risk and lifetime value.", no_args_is_help=True)


@app.command("fit")
def forecast_fit(
    program: str = typer.Option("default", "--program", help="The program's code."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Fit on the orders up to this local date (YYYY-MM-DD)."
    ),
    holdout_days: int = typer.Option(
        182, "--holdout-days", min=1, help="Days kept out of calibration for the diagnostics."
    ),
) -> None:
    """Fit the model on the program's orders now and rewrite every member's forecast."""
    from memberkit.forecast import service
    from memberkit.forecast.tasks import said
    from memberkit.kit.time import showing_in
    from memberkit.program import service as program_service

    database = require_schema()
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        say(_("Not a date (YYYY-MM-DD): {value}"), value=as_of)
        raise typer.Exit(2) from None
    try:
        with database.session_scope(read_only=True) as session:
            config = program_service.get(session, program)
        with (
            showing_in(config.tz),
            database.analytics_scope() as reader,
            database.session_scope() as session,
        ):
            fit = with_progress(
                _("Fitting the forecast"),
                lambda progress: service.fit(
                    session,
                    program=config,
                    as_of=day,
                    holdout_days=holdout_days,
                    progress=progress,
                    reader=reader,
                ),
            )
            sentence = said(fit)
            holdout = fit.diagnostics.get("holdout", {})
    except MemberkitError as exc:
        refuse(exc)
    console.print(sentence.translate(), markup=False)
    if holdout.get("status") == "fitted":
        say(
            _(
                "Holdout ({days} days, {members} members): {actual} repeat purchases happened, "
                "{predicted} were predicted."
            ),
            days=holdout["holdout_days"],
            members=holdout["members"],
            actual=holdout["actual_total"],
            predicted=holdout["predicted_total"],
        )
    if fit.status != "fitted":
        raise typer.Exit(1)
