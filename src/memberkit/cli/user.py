"""``memberkit user``: staff accounts of the console and the cashier screen."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from memberkit.cli.common import console, default_program, refuse, require_schema, say
from memberkit.kit.i18n import Text, _, translate

app = typer.Typer(help="Staff accounts (console and cashier screen).", no_args_is_help=True)

RoleOption = Annotated[
    str, typer.Option(help="owner, admin, marketer, store_manager, cashier or analyst.")
]
StoreOption = Annotated[
    list[str] | None,
    typer.Option(help="A store code the account acts for (store_manager, cashier); repeat."),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input."
    ),
]


def _password(from_stdin: bool) -> str:
    """Read a new password: one line of standard input, or typed twice, unseen."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt(translate(_("New password")), hide_input=True)
    second: str = typer.prompt(translate(_("The same password again")), hide_input=True)
    if first != second:
        say(_("The two passwords differ; nothing was changed."))
        raise typer.Exit(2)
    return first


@app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="The sign-in name (case is ignored).")],
    role: RoleOption,
    store: StoreOption = None,
    name: Annotated[str | None, typer.Option(help="The name shown; the username if none.")] = None,
    locale: Annotated[str | None, typer.Option(help="The console's language: zh_CN or en.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a staff account (the first one: ``--role owner``); asks for its password."""
    from memberkit.errors import MemberkitError
    from memberkit.staff import service as staff_service
    from memberkit.staff.rules import ROLE_NAMES

    database = require_schema()
    program = default_program(database)
    password = _password(password_stdin)
    try:
        with database.session_scope() as session:
            user = staff_service.create_user(
                session,
                program_id=program.id,
                username=username,
                password=password,
                role=role,
                display_name=name,
                stores=store or (),
                locale=locale,
            )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _("Staff account {username} ({role}) created; it may sign in now."),
        username=user.username,
        role=Text(ROLE_NAMES[user.role]),
    )


@app.command("list")
def user_list() -> None:
    """List the staff accounts: role, stores, whether active, last sign-in; never passwords."""
    from rich.table import Table

    from memberkit.kit.time import iso
    from memberkit.staff import service as staff_service

    database = require_schema()
    program = default_program(database)
    with database.session_scope(read_only=True) as session:
        users = staff_service.list_users(session, program_id=program.id)
    table = Table()
    headings = (
        _("Id"),
        _("User name"),
        _("Display name"),
        _("Role"),
        _("Stores"),
        _("Active"),
        _("Language"),
        _("Last sign-in"),
    )
    for heading in headings:
        table.add_column(translate(heading))
    for user in users:
        table.add_row(
            str(user.id),
            user.username,
            user.display_name,
            user.role,
            ", ".join(user.stores),
            translate(_("yes") if user.active else _("no")),
            user.locale,
            iso(user.last_login_at) or "",
        )
    console.print(table)


@app.command("passwd")
def user_passwd(
    username: Annotated[str, typer.Argument(help="The account's user name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a staff account's password; every session of it ends."""
    from memberkit.errors import MemberkitError
    from memberkit.staff import service as staff_service

    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope(read_only=True) as session:
            staff_service.get(session, program_id=program.id, username=username)
        password = _password(password_stdin)
        with database.session_scope() as session:
            ended = staff_service.reset_password(
                session, program_id=program.id, username=username, password=password
            )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _("The password of {username} is changed; {sessions} sessions were ended."),
        username=username,
        sessions=ended,
    )


def _set_active(username: str, *, active: bool) -> None:
    from memberkit.errors import MemberkitError
    from memberkit.staff import service as staff_service

    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope() as session:
            user = staff_service.set_active(
                session, program_id=program.id, username=username, active=active
            )
    except MemberkitError as exc:
        refuse(exc)
    if active:
        say(_("Staff account {username} is enabled."), username=user.username)
    else:
        say(
            _("Staff account {username} is disabled; its sessions have ended."),
            username=user.username,
        )


@app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="The account's user name.")]) -> None:
    """Disable a staff account: it can no longer sign in, and its sessions end at once."""
    _set_active(username, active=False)


@app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="The account's user name.")]) -> None:
    """Enable a disabled staff account again."""
    _set_active(username, active=True)


@app.command("set-role")
def user_set_role(
    username: Annotated[str, typer.Argument(help="The account's user name.")],
    role: RoleOption,
    store: StoreOption = None,
) -> None:
    """Change a staff account's role and stores (the last active owner stays an owner)."""
    from memberkit.errors import MemberkitError
    from memberkit.staff import service as staff_service
    from memberkit.staff.rules import ROLE_NAMES

    database = require_schema()
    program = default_program(database)
    try:
        with database.session_scope() as session:
            user = staff_service.update_user(
                session, program_id=program.id, username=username, role=role, stores=store or []
            )
    except MemberkitError as exc:
        refuse(exc)
    say(
        _("Staff account {username} is now {role} ({stores})."),
        username=user.username,
        role=Text(ROLE_NAMES[user.role]),
        stores=", ".join(user.stores) or "-",
    )
