"""``memberkit webhook …`` (subscriptions, deliveries, replays) and ``memberkit worker``."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from memberkit.cli.common import console, default_program, refuse, require_schema, say
from memberkit.kit.i18n import _, translate

app = typer.Typer(help="Webhook subscriptions and their deliveries.", no_args_is_help=True)

SubscriptionRef = Annotated[int, typer.Argument(help="The subscription's id (as in 'list').")]
EventOption = Annotated[
    list[str] | None,
    typer.Option("--event", help="An event type to send (repeat it); none: every type."),
]


def _fail(message: str) -> typer.Exit:
    console.print(message, markup=False, style="red")
    return typer.Exit(2)


def _disabled_text(reason: str | None) -> str:
    if reason == "failures":
        return translate(_("off after a run of failed attempts"))
    if reason == "operator":
        return translate(_("switched off by an operator"))
    return ""


@app.command("add")
def webhook_add(
    url: Annotated[str, typer.Option(help="Where to POST events (http or https).")],
    event: EventOption = None,
    description: Annotated[str, typer.Option(help="What the receiver is.")] = "",
) -> None:
    """Subscribe a URL to events; the signing secret is printed once, alone on the last line."""
    from memberkit.errors import MemberkitError
    from memberkit.webhook import service

    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope() as session:
            created = service.subscribe(
                session,
                program_id=program.id,
                url=url,
                event_types=event or [],
                description=description,
            )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _(
            "Webhook {id} created for {url} ({events}). Store its signing secret now; it is not "
            "shown again:"
        ),
        id=created.id,
        url=created.url,
        events=", ".join(created.event_types) or translate(_("every event type")),
    )
    print(created.secret)


@app.command("list")
def webhook_list() -> None:
    """List the program's webhook subscriptions (never their secrets)."""
    from rich.table import Table

    from memberkit.kit.time import iso
    from memberkit.webhook import service

    database = require_schema()
    program = default_program(database)
    with database.session_scope(read_only=True) as session:
        _total, items = service.listing(session, program_id=program.id, offset=0, limit=10_000)
    table = Table()
    for heading in (_("Id"), _("URL"), _("Events"), _("Active"), _("Failures"), _("Off since")):
        table.add_column(translate(heading))
    for item in items:
        off = (
            f"{iso(item.disabled_at)} {_disabled_text(item.disabled_reason)}"
            if item.disabled_at
            else ""
        )
        table.add_row(
            str(item.id),
            item.url,
            ", ".join(item.event_types) or translate(_("every event type")),
            translate(_("yes")) if item.active else translate(_("no")),
            str(item.failure_run),
            off,
        )
    console.print(table)


def _switch(subscription_id: int, *, active: bool) -> None:
    from memberkit.errors import MemberkitError
    from memberkit.webhook import service

    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope() as session:
            service.change(
                session, program_id=program.id, subscription_id=subscription_id, active=active
            )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _("Webhook {id} switched on.") if active else _("Webhook {id} switched off."),
        id=subscription_id,
    )


@app.command("disable")
def webhook_disable(subscription_id: SubscriptionRef) -> None:
    """Switch a subscription off: its deliveries wait until it is switched on again."""
    _switch(subscription_id, active=False)


@app.command("enable")
def webhook_enable(subscription_id: SubscriptionRef) -> None:
    """Switch a subscription on again (also one switched off after failures)."""
    _switch(subscription_id, active=True)


@app.command("deliveries")
def webhook_deliveries(
    subscription_id: SubscriptionRef,
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered, failed or given_up.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
) -> None:
    """List a subscription's deliveries, newest first, with their status and last answer."""
    from rich.table import Table

    from memberkit.errors import MemberkitError
    from memberkit.kit.time import iso
    from memberkit.webhook import service
    from memberkit.webhook.models import DeliveryStatus

    if status is not None and status not in set(DeliveryStatus):
        raise _fail(
            translate(
                _("Unknown status {status}; use one of: {statuses}."),
                status=status,
                statuses=", ".join(DeliveryStatus),
            )
        )
    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope(read_only=True) as session:
            total, items = service.deliveries(
                session,
                program_id=program.id,
                subscription_id=subscription_id,
                status=DeliveryStatus(status) if status else None,
                limit=limit,
            )
    except MemberkitError as exc:
        refuse(exc)
    table = Table(
        caption=translate(_("{shown} of {total} deliveries"), shown=len(items), total=total)
    )
    for heading in (
        _("Id"),
        _("Event"),
        _("Type"),
        _("Member"),
        _("Status"),
        _("Attempts"),
        _("Last answer"),
        _("Next attempt"),
    ):
        table.add_column(translate(heading))
    for item in items:
        answer = item.last_error or (str(item.last_status_code) if item.last_status_code else "")
        table.add_row(
            str(item.id),
            item.event_id,
            item.event_type,
            item.member_no or "",
            item.status,
            str(item.attempts),
            answer,
            iso(item.next_attempt_at) or "",
        )
    console.print(table)


@app.command("replay")
def webhook_replay(
    subscription_id: SubscriptionRef,
    delivery: Annotated[
        int | None, typer.Option(help="The delivery to send again (as in 'deliveries').")
    ] = None,
    event: Annotated[
        str | None, typer.Option(help="An event id to send again to this subscription.")
    ] = None,
) -> None:
    """Send a delivery, or an event, again to a subscription, with a fresh retry window."""
    from memberkit.errors import MemberkitError
    from memberkit.webhook import service

    if (delivery is None) == (event is None):
        raise _fail(translate(_("Give exactly one of --delivery or --event.")))
    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope() as session:
            if delivery is not None:
                ids = [
                    service.replay(
                        session,
                        program_id=program.id,
                        subscription_id=subscription_id,
                        delivery_id=delivery,
                    ).id
                ]
            else:
                ids = service.replay_event(
                    session,
                    program_id=program.id,
                    event_id=event or "",
                    subscription_id=subscription_id,
                )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _("Delivery {ids} of webhook {id} will be sent again."),
        ids=", ".join(map(str, ids)),
        id=subscription_id,
    )


def worker() -> None:
    """Deliver the outbox (webhooks) until stopped; run as many as you like side by side."""
    from memberkit.webhook import tasks

    database = require_schema()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    stop = threading.Event()

    def _stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    say(_("Outbox worker started; stop it with Ctrl-C or SIGTERM."))
    tasks.run(database, stop=stop)
    say(_("Outbox worker stopped."))
