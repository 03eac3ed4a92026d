"""``memberkit demo``: a deterministic demo chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import TaskID

from memberkit.cli.common import progress_bar, require_schema, say
from memberkit.kit.i18n import Text, _, translate
from memberkit.kit.time import utcnow

if TYPE_CHECKING:
    from memberkit.demo import DemoLogin


def demo(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if members exist.")
    ] = False,
    members: Annotated[int, typer.Option(min=1, help="How many members.")] = 5000,
    orders: Annotated[int, typer.Option(min=0, help="How many orders.")] = 60000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same data.")
    ] = 20261122,
) -> None:
    """Load a deterministic demo chain: ~20 stores, members, two years of orders, refunds."""
    from memberkit import demo as demo_data

    database = require_schema()
    if not demo_data.is_empty(database):
        if if_empty:
            say(_("Demo data not loaded: the database already has members."))
            return
        say(_("The database already has members; demo data goes into an empty database."))
        raise typer.Exit(1)
    with progress_bar() as progress:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(translate(demo_data.STAGES[stage]), total=total)
            progress.update(tasks[stage], completed=done)

        summary = demo_data.load(
            database, members=members, orders=orders, seed=seed, now=utcnow(), progress=report
        )
    say(
        _(
            "Demo loaded: {stores} stores, {members} members, {orders} orders "
            "({points_payments} paid partly with points, {wallet_payments} with stored value), "
            "{refunds} refunds, {recharges} stored-value recharges, {expired} points expired."
        ),
        stores=summary.stores,
        wallet_payments=summary.wallet_payments,
        recharges=summary.recharges,
        members=summary.members,
        orders=summary.orders,
        points_payments=summary.points_payments,
        refunds=summary.refunds,
        expired=summary.expired_points,
    )
    say(
        _("Tier reviews due in those two years: {kept} kept their tier, {lowered} moved down."),
        kept=summary.tiers_kept,
        lowered=summary.tiers_lowered,
    )
    say_logins(summary.logins)


def say_logins(logins: tuple[DemoLogin, ...]) -> None:
    """Print the demo's staff accounts and their published passwords."""
    from memberkit.staff.rules import ROLE_NAMES

    say(_("Demo staff accounts (published passwords: for a demo only):"))
    for login in logins:
        say(
            _("- {username} / {password}: {role}{store}"),
            username=login.username,
            password=login.password,
            role=Text(ROLE_NAMES[login.role]),
            store=translate(_(", store {store_code}"), store_code=login.store_code)
            if login.store_code
            else "",
        )
