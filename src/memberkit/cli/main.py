"""The ``memberkit`` command: one module per command group, assembled here."""

from __future__ import annotations

import typer

from memberkit.cli import apikey, db, demo, imports, jobs, ledger, serve, tiers, user, webhook

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
    ("tiers", tiers.app),
    ("webhook", webhook.app),
)
#: Commands of their own (``memberkit <command>``): register a new one with one line here.
COMMANDS = (serve.serve, demo.demo, webhook.worker)

for name, group in GROUPS:
    app.add_typer(group, name=name)
for command in COMMANDS:
    app.command()(command)

__all__ = ["app"]
