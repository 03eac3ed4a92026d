"""``memberkit ledger``: the points ledger."""

from __future__ import annotations

import typer

from memberkit.cli.common import console, require_schema, say
from memberkit.kit.i18n import _

app = typer.Typer(help="The points ledger.", no_args_is_help=True)


@app.command("check")
def ledger_check() -> None:
    """Verify the ledger: zero-sum transactions, balances and lots equal to their entries."""
    from memberkit.ledger.check import check

    # Read-only: a check of a large ledger never holds up the writers of a running server.
    with require_schema().session_scope(read_only=True) as session:
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
