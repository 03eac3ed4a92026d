"""The ``memberkit`` command: one module per command group, assembled here."""

from __future__ import annotations

import typer

from memberkit.cli import (
    analytics,
    apikey,
    db,
    demo,
    forecast,
    imports,
    jobs,
    ledger,
    serve,
    tiers,
    user,
    webhook,
)
from memberkit.cli.common import console
from memberkit.db import DatabaseBusy, is_busy

app = typer.Typer(
    help="Memberkit: membership and loyalty platform (会员管理系统).", no_args_is_help=True
)

#: Command groups (``memberkit <group> <command>``): register a new group with one line here.
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("db", db.app),
    ("jobs", jobs.app),
    ("apikey", apikey.app),
    ("user", user.app),
    ("import", imports.app),
    ("ledger", ledger.app),
    ("analytics", analytics.app),
    ("forecast", forecast.app),
    ("tiers", tiers.app),
    ("webhook", webhook.app),
)
#: Commands of their own (``memberkit <command>``): register a new one with one line here.
COMMANDS = (serve.serve, demo.demo, webhook.worker)

for name, group in GROUPS:
    app.add_typer(group, name=name)
for command in COMMANDS:
    app.command()(command)


def main() -> None:
    """Run the ``memberkit`` command; a database busy beyond the lock timeout is said plainly.

    Another process writing a long while (a demo loading, an import) can hold SQLite's write
    lock past ``MEMBERKIT_LOCK_TIMEOUT``: the command then changed nothing and may be retried.
    """
    try:
        app()
    except Exception as exc:
        if not is_busy(exc):
            raise
        console.print(DatabaseBusy().detail(), markup=False, style="red")
        raise SystemExit(1) from None


__all__ = ["app", "main"]
