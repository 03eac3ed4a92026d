"""Editing a staff account in the console: role, stores, name, enabling, a new password.

Every rule is the staff service's (who may manage whom, the last owner, nobody changes their
own role or disables themselves); the page shows a refusal beside the field it concerns.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.faces.web import COOKIE
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.admin.test_views import csrf, sign_in
from tests.program.test_views import english
from tests.rest import table_contents


def _account(database: Database, program: ProgramConfig, username: str) -> Any:
    with database.session_scope(read_only=True) as session:
        return staff_service.get(session, program_id=program.id, username=username)


def _entries(database: Database, action: str) -> list[AuditEntry]:
    with database.session_scope(read_only=True) as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def _edit(client: TestClient, username: str, **fields: Any) -> Any:
    page = client.get(f"/admin/staff/{username}")
    assert page.status_code == 200, page.text[-2000:]
    return client.post(
        f"/admin/staff/{username}",
        data={"csrf_token": csrf(page.text), **fields},
        follow_redirects=False,
    )


def test_an_admin_makes_a_cashier_the_manager_of_two_stores_and_it_is_audited(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given the admin signed in, on the cashier's page
    sign_in(client, "admin")
    page = client.get("/admin/staff")
    assert 'href="/admin/staff/cashier"' in page.text
    assert 'href="/admin/staff/owner"' not in page.text  # admins do not manage owners

    # when they make the cashier a store manager of SH001 and SH002, renamed
    saved = _edit(
        client,
        "cashier",
        display_name="王店长",
        role="store_manager",
        stores=["SH001", "SH002"],
    )

    # then the account is changed, and the audit log says before and after
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/staff/cashier?done=true")
    view = _account(database, program, "cashier")
    assert (view.display_name, view.role, view.stores) == (
        "王店长",
        "store_manager",
        ("SH001", "SH002"),
    )
    [entry] = _entries(database, "staff.update")
    assert (entry.actor_name, entry.subject_type, entry.subject_id) == (
        "admin",
        "staff",
        str(view.id),
    )
    assert entry.before == {
        "username": "cashier",
        "display_name": "cashier",
        "role": "cashier",
        "stores": ["SH001"],
        "active": True,
        "locale": "zh_CN",
    }
    assert entry.after == {**entry.before, "display_name": "王店长", "role": "store_manager"} | {
        "stores": ["SH001", "SH002"]
    }
    shown = client.get("/admin/staff/cashier?done=true")
    assert 'id="page-done"' in shown.text and 'value="SH002" selected' in shown.text


def test_saving_an_account_unchanged_writes_no_audit_entry(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    contents = table_contents(database)
    saved = _edit(client, "manager", display_name="manager", role="store_manager", stores="SH001")
    assert saved.status_code == 303
    assert table_contents(database) == contents


@pytest.mark.parametrize(
    ("who", "target", "fields", "status", "where"),
    [
        # an admin can neither make an owner nor change one
        ("admin", "cashier", {"role": "owner"}, 403, "role"),
        # nobody changes their own role
        ("owner", "owner", {"role": "admin"}, 409, "role"),
        ("admin", "admin", {"role": "marketer"}, 409, "role"),
        # store-bound roles need a store; others take none; stores must exist and be open
        ("admin", "cashier", {"role": "cashier", "stores": ""}, 422, "stores"),
        ("admin", "cashier", {"role": "marketer", "stores": "SH001"}, 422, "stores"),
        ("admin", "cashier", {"role": "cashier", "stores": "NOPE"}, 404, "stores"),
        (
            "admin",
            "cashier",
            {"role": "cashier", "stores": "<script>alert(1)</script>"},
            404,
            "stores",
        ),
        ("admin", "cashier", {"role": "cashier", "stores": "S" * 5000}, 404, "stores"),
        ("admin", "cashier", {"role": "emperor"}, 422, "role"),
        ("admin", "cashier", {"role": ""}, 422, "role"),
        ("admin", "cashier", {"display_name": "名" * 300}, 422, "display_name"),
        ("admin", "cashier", {"display_name": "a\u0000b"}, 422, "display_name"),
    ],
)
def test_a_refused_change_is_said_beside_its_field_and_nothing_changes(
    client: TestClient,
    database: Database,
    staff: dict[str, Actor],
    who: str,
    target: str,
    fields: dict[str, str],
    status: int,
    where: str,
) -> None:
    sign_in(client, who)
    english(client)
    current = _account_fields(client, target)
    contents = table_contents(database)
    refused = _edit(client, target, **{**current, **fields})
    assert refused.status_code == status, refused.text[-2000:]
    assert f'id="error-{where}"' in refused.text
    assert "<script>alert(1)</script>" not in refused.text
    assert table_contents(database) == contents


def _account_fields(client: TestClient, username: str) -> dict[str, Any]:
    """What the account's form holds now (role and stores as they are)."""
    sign_in_roles = {
        "owner": ("owner", []),
        "admin": ("admin", []),
        "manager": ("store_manager", ["SH001"]),
        "cashier": ("cashier", ["SH001"]),
    }
    role, stores = sign_in_roles[username]
    return {"display_name": username, "role": role, "stores": stores}


def test_an_admin_may_not_open_or_change_an_owners_account(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    english(client)
    token = csrf(client.get("/admin/staff").text)
    contents = table_contents(database)
    page = client.get("/admin/staff/owner")
    assert page.status_code == 403 and 'id="refusal"' in page.text
    assert "may not manage owner accounts" in page.text
    for path, fields in [
        ("/admin/staff/owner", {"role": "admin"}),
        ("/admin/staff/owner/active", {"active": "no"}),
        ("/admin/staff/owner/password", {"password": "taken-over-2026"}),
    ]:
        refused = client.post(path, data={"csrf_token": token, **fields})
        assert refused.status_code == 403, path
    assert table_contents(database) == contents


def test_an_owner_makes_another_owner_and_then_may_be_demoted_by_them(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    assert _edit(client, "admin", display_name="admin", role="owner").status_code == 303
    assert _account(database, program, "admin").role == "owner"
    client.cookies.clear()
    sign_in(client, "admin")
    assert _edit(client, "owner", display_name="owner", role="admin").status_code == 303
    assert _account(database, program, "owner").role == "admin"


def test_the_last_active_owner_is_neither_demoted_nor_disabled(
    database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # The console never gets here (only owners manage owners, and not themselves): the CLI can.
    from memberkit.staff.errors import LastOwner

    contents = table_contents(database)
    for change in (
        lambda session: staff_service.update_user(
            session, program_id=program.id, username="owner", role="admin"
        ),
        lambda session: staff_service.set_active(
            session, program_id=program.id, username="owner", active=False
        ),
    ):
        with pytest.raises(LastOwner), database.session_scope() as session:
            change(session)
    assert table_contents(database) == contents


def test_disabling_an_account_ends_its_sessions_at_once_and_is_audited(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given the cashier signed in somewhere
    sign_in(client, "cashier")
    cashier_token = client.cookies[COOKIE]
    assert staff_service.resolve(database, token=cashier_token) is not None
    client.cookies.clear()

    # when the admin disables them from their page
    sign_in(client, "admin")
    page = client.get("/admin/staff/cashier")
    assert 'id="disable-cashier"' in page.text
    disabled = client.post(
        "/admin/staff/cashier/active",
        data={"csrf_token": csrf(page.text), "active": "no"},
        follow_redirects=False,
    )

    # then the cashier's session is gone, and the entry says how many ended
    assert disabled.status_code == 303
    assert staff_service.resolve(database, token=cashier_token) is None
    [entry] = _entries(database, "staff.disable")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["active"], entry.after["active"], entry.after["sessions_ended"]) == (
        True,
        False,
        1,
    )
    again = client.get("/admin/staff/cashier")
    assert 'id="enable-cashier"' in again.text and 'id="account-state"' in again.text
    enabled = client.post(
        "/admin/staff/cashier/active",
        data={"csrf_token": csrf(again.text), "active": "yes"},
        follow_redirects=False,
    )
    assert enabled.status_code == 303 and _account(database, program, "cashier").active


def test_nobody_disables_themselves_from_their_own_page(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/staff/admin")
    assert 'id="disable-admin"' not in page.text
    assert 'id="edit-role" name="role" disabled' in page.text
    contents = table_contents(database)
    refused = client.post(
        "/admin/staff/admin/active", data={"csrf_token": csrf(page.text), "active": "no"}
    )
    assert refused.status_code == 409 and 'id="page-error"' in refused.text
    assert table_contents(database) == contents


@pytest.mark.parametrize("password", ["", "short", "x" * 5000, "cashier", "CASHIER"])
def test_a_new_password_that_breaks_the_rules_is_refused_beside_it(
    client: TestClient, database: Database, staff: dict[str, Actor], password: str
) -> None:
    sign_in(client, "admin")
    english(client)
    page = client.get("/admin/staff/cashier")
    contents = table_contents(database)
    refused = client.post(
        "/admin/staff/cashier/password", data={"csrf_token": csrf(page.text), "password": password}
    )
    assert refused.status_code == 422
    assert 'id="error-password"' in refused.text
    assert table_contents(database) == contents


def test_a_password_reset_replaces_the_old_one_and_ends_sessions(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/staff/cashier")
    reset = client.post(
        "/admin/staff/cashier/password",
        data={"csrf_token": csrf(page.text), "password": "新的密码-2026-收银"},
        follow_redirects=False,
    )
    assert (reset.status_code, reset.headers["location"]) == (303, "/admin/staff/cashier?done=true")
    client.cookies.clear()
    assert sign_in(client, "cashier").status_code == 401
    signed = client.post(
        "/login",
        data={"username": "cashier", "password": "新的密码-2026-收银", "next": "/admin"},
        follow_redirects=False,
    )
    # the password an admin chose opens only the page to choose one's own
    assert (signed.status_code, signed.headers["location"]) == (303, "/account/password")
    forced = client.get("/account/password")
    assert 'id="password-forced"' in forced.text and 'href="/pos"' not in forced.text
    for elsewhere in ("/pos", "/admin/members", "/admin"):
        answer = client.get(elsewhere, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/account/password")
    token = csrf(forced.text)
    contents = table_contents(database)
    refused = client.post("/pos/identify", data={"csrf_token": token, "q": "13800138000"})
    assert refused.url.path == "/account/password"
    assert table_contents(database) == contents

    # the same password again is refused; one of the account's own opens the till again
    same = client.post(
        "/account/password",
        data={"csrf_token": token, "current": "新的密码-2026-收银", "new": "新的密码-2026-收银"}
        | {"again": "新的密码-2026-收银"},
    )
    assert same.status_code == 422 and "新密码不能与当前密码相同。" in same.text
    own = "收银员自己的-密码-2026"
    changed = client.post(
        "/account/password",
        data={"csrf_token": token, "current": "新的密码-2026-收银", "new": own, "again": own},
    )
    assert changed.status_code == 200 and 'id="password-continue"' in changed.text
    assert client.get("/pos", follow_redirects=False).status_code == 200


def test_an_account_an_admin_makes_chooses_its_own_password_at_first_sign_in(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    # given an account made by an admin in the console
    sign_in(client, "admin")
    page = client.get("/admin/staff")
    made = client.post(
        "/admin/staff",
        data={
            "csrf_token": csrf(page.text),
            "username": "analyst2",
            "password": "分析员的-初始-密码-2026",
            "role": "analyst",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    client.cookies.clear()

    # when it signs in, it is sent to choose its own password first
    signed = client.post(
        "/login",
        data={"username": "analyst2", "password": "分析员的-初始-密码-2026", "next": "/admin"},
        follow_redirects=False,
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/account/password")


def test_a_forged_token_an_unknown_account_and_a_store_role_change_nothing(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    contents = table_contents(database)
    forged = client.post(
        "/admin/staff/cashier", data={"csrf_token": "forged", "role": "admin", "stores": ""}
    )
    assert forged.status_code == 403
    missing = client.get("/admin/staff/nobody")
    assert missing.status_code == 404 and 'id="refusal"' in missing.text
    token = csrf(client.get("/admin/staff").text)
    assert client.post("/admin/staff/nobody", data={"csrf_token": token}).status_code == 404
    assert client.get("/admin/staff/" + "x" * 3000).status_code == 404
    assert table_contents(database) == contents
    client.cookies.clear()
    sign_in(client, "manager")
    contents = table_contents(database)
    assert client.get("/admin/staff/cashier").status_code == 403
    assert client.post("/admin/staff/cashier", data={"role": "admin"}).status_code == 403
    assert table_contents(database) == contents


def test_a_display_name_with_a_script_tag_is_kept_as_text_never_run(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    saved = _edit(
        client, "cashier", display_name="<script>x</script>", role="cashier", stores="SH001"
    )
    assert saved.status_code == 303
    assert _account(database, program, "cashier").display_name == "<script>x</script>"
    for path in ("/admin/staff", "/admin/staff/cashier"):
        text = client.get(path).text
        assert "<script>x</script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
