"""``memberkit tiers``: member tiers."""

from __future__ import annotations

from typing import Annotated

import typer

from memberkit.cli.common import console, refuse, require_schema, say
from memberkit.kit.i18n import _, translate
from memberkit.kit.time import utcnow

app = typer.Typer(help="Member tiers.", no_args_is_help=True)


@app.command("simulate")
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
    from memberkit.tier import service as tier_service
    from memberkit.tier.simulate import Proposal, simulate

    try:
        proposal = Proposal(
            growth=[int(part) for part in thresholds.split(",")],
            spend=[parse_money(part.strip()) for part in spend.split(",")] if spend else None,
            spend_days=spend_days,
        )
        with require_schema().session_scope() as session:
            program = program_service.get(session)
            result = simulate(
                session,
                program_id=program.id,
                ladder=program.ladder,
                history=tier_service.counts_history(program),
                proposal=proposal,
                now=utcnow(),
            )
    except (ValueError, MoneyFormatError):
        say(_("Thresholds are comma-separated numbers, e.g. 1000,5000,20000."))
        raise typer.Exit(2) from None
    except MemberkitError as exc:
        refuse(exc)
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
