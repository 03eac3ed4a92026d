"""``memberkit apikey``: API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from memberkit.cli.common import console, default_program, refuse, require_schema, say
from memberkit.kit.i18n import _, translate

app = typer.Typer(help="API keys.", no_args_is_help=True)


@app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'POS SH001'.")],
    scope: Annotated[str, typer.Option(help="admin, pos or read.")],
    store: Annotated[str | None, typer.Option(help="Bind the key to one store code.")] = None,
) -> None:
    """Create an API key; the key itself is printed once, alone on the last line."""
    from memberkit.auth import service as auth_service
    from memberkit.errors import MemberkitError
    from memberkit.program import service as program_service

    database = require_schema()
    try:
        with database.session_scope() as session:
            program = program_service.get(session)
            key = auth_service.create(
                session, program_id=program.id, name=name, scope=scope, store_code=store
            )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _("API key created for {name} (scope {scope}). Store it now; it is not shown again:"),
        name=name,
        scope=scope,
    )
    print(key)


@app.command("list")
def apikey_list() -> None:
    """List the program's API keys (prefix, name, scope, store, revoked); never the keys."""
    from rich.table import Table

    from memberkit.auth import service as auth_service
    from memberkit.kit.time import iso

    database = require_schema()
    with database.session_scope() as session:
        program = default_program(database)
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


@app.command("revoke")
def apikey_revoke(
    ref: Annotated[str, typer.Argument(help="The key's prefix (as in 'list') or id.")],
) -> None:
    """Revoke an API key: every process refuses it from the next request on."""
    from memberkit.auth import service as auth_service
    from memberkit.errors import MemberkitError

    database = require_schema()
    try:
        with database.session_scope() as session:
            program = default_program(database)
            key = auth_service.revoke(session, program_id=program.id, ref=ref)
    except MemberkitError as exc:
        refuse(exc)
    say(_("API key {prefix} ({name}) is revoked."), prefix=key.prefix, name=key.name)
