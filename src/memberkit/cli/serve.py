"""``memberkit serve``: the API, in one process or several on one port."""

from __future__ import annotations

import logging.config
from typing import Annotated

import typer

from memberkit.cli.common import say
from memberkit.db import get_database
from memberkit.kit.i18n import _


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes answering requests on the port; the scheduler runs once, "
            "in the serving parent.",
        ),
    ] = 1,
) -> None:
    """Serve the API (docs at /docs) with the daily scheduler inside; access logs are masked.

    With ``--workers N`` (N > 1) the parent process supervises N worker processes and runs
    the background services itself, once (see :mod:`memberkit.background`).
    """
    import uvicorn

    from memberkit import background, migrate
    from memberkit.api.access_log import log_config

    database = get_database()
    if migrate.pending(database.engine):
        say(_("The database schema is behind; run: memberkit db upgrade"))
        raise typer.Exit(1)
    say(_("Memberkit is running on http://{host}:{port} (API docs: /docs)"), host=host, port=port)
    say(
        _("Staff sign in at http://{host}:{port}/login (the console is /admin)."),
        host=host,
        port=port,
    )
    # The access log masks phone numbers and QR tokens left in URLs (GET ?phone=…).
    config = log_config()
    if workers == 1:
        from memberkit.app import create_app

        uvicorn.run(create_app(), host=host, port=port, log_level="info", log_config=config)
        return
    say(_("{workers} worker processes; the scheduler runs in this one."), workers=workers)
    logging.config.dictConfig(config)  # before uvicorn does: the scheduler logs as it starts
    with background.running(database):
        uvicorn.run(
            "memberkit.app:create_worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            log_config=config,
        )
