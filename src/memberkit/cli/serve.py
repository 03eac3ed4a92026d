"""``memberkit serve``: the API."""

from __future__ import annotations

from typing import Annotated

import typer

from memberkit.cli.common import say
from memberkit.db import get_database
from memberkit.kit.i18n import _


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
