"""``memberkit user``: accounts made, listed, re-passworded and disabled from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff import errors
from memberkit.staff import service as staff_service
from tests.factories import make_store
from tests.rest import table_contents

runner = CliRunner()


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def _said(output: str) -> str:
    return " ".join(output.split())


def _sign_in(database: Database, program: ProgramConfig, username: str, password: str) -> str:
    return staff_service.authenticate(
        database, program_id=program.id, username=username, password=password, ip="127.0.0.1"
    ).token


def test_the_first_owner_is_made_with_a_password_typed_twice(
    database: Database, program: ProgramConfig
) -> None:
    result = runner.invoke(
        app,
        ["user", "create", "--role", "owner", "--username", "alice", "--name", "王老板"],
        input="first-owner-2026\nfirst-owner-2026\n",
    )
    assert result.exit_code == 0, result.output
    assert "first-owner-2026" not in result.output
    assert _said(result.output).endswith("Staff account alice (owner) created; it may sign in now.")
    assert _sign_in(database, program, "ALICE", "first-owner-2026")


def test_passwords_that_differ_or_break_the_rules_make_nothing(
    database: Database, program: ProgramConfig
) -> None:
    before = table_contents(database)
    differ = runner.invoke(
        app,
        ["user", "create", "--role", "owner", "--username", "alice"],
        input="first-owner-2026\nfirst-owner-2062\n",
    )
    assert differ.exit_code == 2
    assert "The two passwords differ; nothing was changed." in _said(differ.output)
    short = runner.invoke(
        app,
        ["user", "create", "--role", "owner", "--username", "alice", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code == 2
    assert "A password must be at least 10 characters long." in _said(short.output)
    assert table_contents(database) == before


def test_a_cashier_of_a_store_from_standard_input_then_listed(
    database: Database, program: ProgramConfig
) -> None:
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
    made = runner.invoke(
        app,
        [
            "user",
            "create",
            "--role",
            "cashier",
            "--username",
            "till1",
            "--store",
            "SH001",
            "--password-stdin",
            "--locale",
            "en",
        ],
        input="till-one-2026\n",
    )
    assert made.exit_code == 0, made.output
    no_store = runner.invoke(
        app,
        ["user", "create", "--role", "cashier", "--username", "till2", "--password-stdin"],
        input="till-two-2026\n",
    )
    assert no_store.exit_code == 2
    assert "The cashier role acts for one or more stores" in _said(no_store.output)

    listed = runner.invoke(app, ["user", "list"])
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "till1" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][1:7] == [
        "till1",
        "till1",
        "cashier",
        "SH001",
        "yes",
        "en",
    ]


def test_passwd_and_disable_end_the_accounts_sessions(
    database: Database, program: ProgramConfig
) -> None:
    runner.invoke(
        app,
        ["user", "create", "--role", "owner", "--username", "alice", "--password-stdin"],
        input="first-owner-2026\n",
    )
    runner.invoke(
        app,
        ["user", "create", "--role", "analyst", "--username", "bob", "--password-stdin"],
        input="analyst-bob-2026\n",
    )
    token = _sign_in(database, program, "bob", "analyst-bob-2026")

    changed = runner.invoke(app, ["user", "passwd", "bob"], input="analyst-new-2026\n" * 2)
    assert changed.exit_code == 0, changed.output
    assert "The password of bob is changed; 1 sessions were ended." in _said(changed.output)
    assert staff_service.resolve(database, token=token) is None
    with pytest.raises(errors.LoginFailed):
        _sign_in(database, program, "bob", "analyst-bob-2026")
    token = _sign_in(database, program, "bob", "analyst-new-2026")

    disabled = runner.invoke(app, ["user", "disable", "bob"])
    assert disabled.exit_code == 0, disabled.output
    assert "Staff account bob is disabled; its sessions have ended." in _said(disabled.output)
    assert staff_service.resolve(database, token=token) is None
    with pytest.raises(errors.AccountDisabled):
        _sign_in(database, program, "bob", "analyst-new-2026")
    assert runner.invoke(app, ["user", "enable", "bob"]).exit_code == 0
    assert _sign_in(database, program, "bob", "analyst-new-2026")

    last = runner.invoke(app, ["user", "disable", "alice"])
    assert last.exit_code == 2
    assert "alice is the last active owner" in _said(last.output)
    unknown = runner.invoke(app, ["user", "passwd", "nobody"], input="whatever-2026\n" * 2)
    assert (unknown.exit_code, _said(unknown.output)) == (2, "No staff account nobody.")


def test_messages_follow_the_deployments_language(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "default_locale", "zh_CN")
    result = runner.invoke(
        app,
        ["user", "create", "--role", "owner", "--username", "alice", "--password-stdin"],
        input="first-owner-2026\n",
    )
    assert _said(result.output) == "员工账号 alice（所有者）已创建，现在即可登录。"


def test_set_role_moves_an_account_between_roles_and_stores_but_keeps_the_last_owner(
    database: Database, program: ProgramConfig
) -> None:
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
    for role, username, password in (
        ("owner", "alice", "first-owner-2026"),
        ("analyst", "bob", "analyst-bob-2026"),
    ):
        made = runner.invoke(
            app,
            ["user", "create", "--role", role, "--username", username, "--password-stdin"],
            input=f"{password}\n",
        )
        assert made.exit_code == 0, made.output

    moved = runner.invoke(
        app,
        ["user", "set-role", "bob", "--role", "cashier", "--store", "SH002", "--store", "SH001"],
    )
    assert moved.exit_code == 0, moved.output
    assert _said(moved.output) == "Staff account bob is now cashier (SH001, SH002)."
    with database.session_scope(read_only=True) as session:
        bob = staff_service.get(session, program_id=program.id, username="bob")
    assert (bob.role, bob.stores) == ("cashier", ("SH001", "SH002"))

    before = table_contents(database)
    for refused, said in (
        (["bob", "--role", "cashier"], "acts for one or more stores"),
        (["bob", "--role", "admin", "--store", "SH001"], "acts for the whole chain"),
        (["bob", "--role", "emperor"], "emperor is not a role"),
        (["alice", "--role", "admin"], "alice is the last active owner"),
        (["nobody", "--role", "admin"], "No staff account nobody."),
    ):
        result = runner.invoke(app, ["user", "set-role", *refused])
        assert result.exit_code == 2, result.output
        assert said in _said(result.output)
    assert table_contents(database) == before
