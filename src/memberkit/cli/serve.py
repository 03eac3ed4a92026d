"""``memberkit serve``: the API, in one process or several on one port."""

from __future__ import annotations

import logging.config
from typing import TYPE_CHECKING, Annotated, Any

import typer

from memberkit.cli.common import say
from memberkit.config import settings
from memberkit.db import Database, get_database
from memberkit.kit.i18n import _

if TYPE_CHECKING:
    from memberkit.demo import Loader


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
    demo_if_empty: Annotated[
        bool,
        typer.Option(
            "--demo-if-empty",
            help="Load the demo chain in the background if the database has no members; "
            "the server answers meanwhile (progress in the log and in GET /health).",
        ),
    ] = False,
    demo_members: Annotated[
        int, typer.Option(min=1, help="Members of that demo (as `memberkit demo --members`).")
    ] = 5000,
    demo_orders: Annotated[
        int, typer.Option(min=0, help="Orders of that demo (as `memberkit demo --orders`).")
    ] = 60000,
) -> None:
    """Serve the API (docs at /docs) with the daily scheduler inside; access logs are masked.

    With ``--workers N`` (N > 1) the parent process supervises N worker processes and runs
    the background services itself, once (see :mod:`memberkit.background`).
    """
    from memberkit import migrate
    from memberkit.api.access_log import log_config

    database = get_database()
    if migrate.pending(database.engine):
        say(_("The database schema is behind; run: memberkit db upgrade"))
        raise typer.Exit(1)
    # The access log masks phone numbers and QR tokens left in URLs (GET ?phone=…).
    config = log_config()
    logging.config.dictConfig(config)  # before uvicorn does: the demo and scheduler log at once
    loader = _demo_loader(database, demo_members, demo_orders) if demo_if_empty else None
    say(_("Memberkit is running on http://{host}:{port} (API docs: /docs)"), host=host, port=port)
    say(
        _("Staff sign in at http://{host}:{port}/login (the console is /admin)."),
        host=host,
        port=port,
    )
    try:
        _serve(host=host, port=port, workers=workers, config=config)
    finally:
        if loader is not None:
            loader.stop()


def _demo_loader(database: Database, members: int, orders: int) -> Loader | None:
    """Load the demo beside the server into an empty database (or finish one cut short)."""
    from memberkit import demo
    from memberkit.cli.demo import say_logins

    if not demo.is_empty(database):
        loader = demo.Loader.resuming(database)
        if loader is None:
            return None
        loader.start()
        say(_("Resuming the demo loading that stopped midway; GET /health tells how far it is."))
        return loader
    loader = demo.Loader(database, members=members, orders=orders)
    loader.start()
    say(_("Loading the demo chain in the background; GET /health tells how far it is."))
    say_logins(loader.logins)
    return loader


def _serve(*, host: str, port: int, workers: int, config: dict[str, Any]) -> None:
    import uvicorn

    from memberkit import background

    if workers == 1:
        from memberkit.app import create_app

        uvicorn.run(
            create_app(), host=host, port=port, log_level="info", log_config=config, **_proxies()
        )
        return
    say(_("{workers} worker processes; the scheduler runs in this one."), workers=workers)
    with background.running(get_database()):
        uvicorn.run(
            "memberkit.app:create_worker_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="info",
            log_config=config,
            **_proxies(),
        )


def _proxies() -> dict[str, Any]:
    """Whose ``X-Forwarded-For`` to believe: only the proxies the deployment names.

    By default none (uvicorn would believe 127.0.0.1's), so a client cannot pick the address
    the sign-in limits and the audit log record by sending the header itself.
    """
    trusted = settings.trusted_proxies.strip()
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}
