"""``memberkit analytics``: RFM and lifecycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from memberkit.cli.common import console, require_schema, say, with_progress
from memberkit.kit.i18n import _

app = typer.Typer(help="RFM scores, classes and lifecycle of members.", no_args_is_help=True)


@app.command("refresh")
def analytics_refresh(
    program: Annotated[
        str | None, typer.Option("--program", help="The program's code; default: every program.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Local date (YYYY-MM-DD); default today.")
    ] = None,
) -> None:
    """Recompute every member's RFM and lifecycle (the daily job's work), then summarize."""
    from memberkit.analytics import queries, service
    from memberkit.analytics.rfm import CLASS_NAMES, RfmClass
    from memberkit.analytics.rules import LIFECYCLE_NAMES, Lifecycle
    from memberkit.analytics.service import Progress, Refreshed
    from memberkit.program import service as program_service
    from memberkit.program.queries import program_codes
    from memberkit.program.service import ProgramConfig

    day = None
    if as_of is not None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            say(_("Enter a date as YYYY-MM-DD."))
            raise typer.Exit(2) from None
    database = require_schema()
    with database.session_scope(read_only=True) as session:
        codes = program_codes(session)
        if program is not None and program not in codes:
            say(_("There is no program {code}."), code=program)
            raise typer.Exit(2)
        configs = [program_service.get(session, code) for code in codes if program in (None, code)]
    for config in configs:
        say(_("Program {code} ({name}):"), code=config.code, name=config.name)
        with database.session_scope() as session:

            def run(progress: Progress, config: ProgramConfig = config) -> Refreshed:
                return service.refresh(session, program=config, as_of=day, progress=progress)

            done = with_progress(_("Refreshing RFM"), run)
        say(
            _("RFM refreshed as of {as_of}: {members} members, {scored} scored, in {ms} ms."),
            as_of=done.as_of,
            members=done.members,
            scored=done.scored,
            ms=done.milliseconds,
        )
        with database.session_scope(read_only=True) as session:
            counts = queries.counts(session, program_id=config.id)
        for state in Lifecycle:
            console.print(
                f"  {_label(LIFECYCLE_NAMES[state])}: {counts.lifecycle.get(state.value, 0)}",
                markup=False,
            )
        for rfm_class in RfmClass:
            console.print(
                f"  {_label(CLASS_NAMES[rfm_class])}: {counts.classes.get(rfm_class.value, 0)}",
                markup=False,
            )


def _label(message: str) -> str:
    from memberkit.kit.i18n import translate

    return translate(message)
