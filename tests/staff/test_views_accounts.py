"""The staff accounts page: make, disable, enable accounts and reset passwords; all audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.admin.test_views import csrf, sign_in
from tests.program.test_views import english
from tests.rest import table_contents

NEW = {
    "username": "cashier2",
    "display_name": "收银员小王",
    "password": "cashier2-pass-2026",
    "role": "cashier",
    "stores": "SH002",
}


def _actions(database: Database) -> list[tuple[str, str]]:
    with database.session_scope(read_only=True) as session:
        return [
            (entry.action, entry.subject_id)
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.subject_type == "staff").order_by(AuditEntry.id)
            )
        ]


def test_an_admin_makes_a_cashier_disables_enables_and_resets_them(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/staff")
    assert page.status_code == 200 and 'id="account-owner"' in page.text
    assert 'id="disable-owner"' not in page.text  # admins do not manage owners
    assert 'value="owner"' not in page.text.split('id="new-role"')[1].split("</select>")[0]
    token = csrf(page.text)
    before = len(_actions(database))

    made = client.post("/admin/staff", data={"csrf_token": token, **NEW}, follow_redirects=False)
    assert made.status_code == 303
    for active in ("no", "yes"):
        assert (
            client.post(
                "/admin/staff/cashier2/active",
                data={"csrf_token": token, "active": active},
                follow_redirects=False,
            ).status_code
            == 303
        )
    reset = client.post(
        "/admin/staff/cashier2/password",
        data={"csrf_token": token, "password": "another-pass-2026"},
        follow_redirects=False,
    )
    assert reset.status_code == 303

    with database.session_scope(read_only=True) as session:
        view = staff_service.get(session, program_id=program.id, username="cashier2")
    assert (view.role, view.stores, view.active, view.display_name) == (
        "cashier",
        ("SH002",),
        True,
        "收银员小王",
    )
    assert _actions(database)[before:] == [
        ("staff.create", str(view.id)),
        ("staff.disable", str(view.id)),
        ("staff.enable", str(view.id)),
        ("staff.password", str(view.id)),
    ]
    signed = client.post(
        "/login",
        data={"username": "cashier2", "password": "another-pass-2026", "next": "/admin"},
        follow_redirects=False,
    )
    assert signed.status_code == 303


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("username", "", "username"),
        ("username", "<script>alert(1)</script>", "username"),
        ("username", "owner", "username"),
        ("password", "short", "password"),
        ("password", "x" * 5000, "password"),
        ("role", "owner", "role"),
        ("role", "emperor", "role"),
        ("stores", "", "stores"),
        ("stores", "NOPE", "stores"),
        ("display_name", "名" * 300, "display_name"),
    ],
)
def test_a_refused_account_is_marked_beside_its_field_and_nothing_changes(
    client: TestClient,
    database: Database,
    staff: dict[str, Actor],
    field: str,
    value: str,
    where: str,
) -> None:
    sign_in(client, "admin")
    english(client)
    page = client.get("/admin/staff")
    contents = table_contents(database)
    refused = client.post("/admin/staff", data={"csrf_token": csrf(page.text), **NEW, field: value})
    assert 400 <= refused.status_code < 500
    assert f'id="error-{where}"' in refused.text, refused.text[-3000:]
    assert "<script>alert(1)</script>" not in refused.text
    assert table_contents(database) == contents


def test_nobody_disables_themselves_and_store_roles_may_not_manage_staff(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = client.get("/admin/staff")
    contents = table_contents(database)
    self_disable = client.post(
        "/admin/staff/owner/active", data={"csrf_token": csrf(page.text), "active": "no"}
    )
    assert self_disable.status_code == 409 and 'id="page-error"' in self_disable.text
    forged = client.post("/admin/staff", data={"csrf_token": "forged", **NEW})
    assert forged.status_code == 403
    assert table_contents(database) == contents
    client.cookies.clear()
    sign_in(client, "manager")
    assert client.get("/admin/staff").status_code == 403
    assert client.post("/admin/staff/cashier/active", data={"active": "no"}).status_code == 403
