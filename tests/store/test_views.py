"""The stores pages: list, open, edit, close and reopen stores; every change audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.kit.schemas import has_control_characters
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.store import service as store_service
from tests.admin.conftest import cheap_hashes, staff
from tests.admin.test_views import csrf, sign_in
from tests.program.test_views import english
from tests.rest import table_contents

__all__ = ["cheap_hashes", "staff"]

NEW = {"code": "BJ001", "name": "北京国贸店", "type": "franchise", "city": "北京"}


def _store(database: Database, program: ProgramConfig, code: str) -> tuple[str, str, str, bool]:
    with database.session_scope(read_only=True) as session:
        store = store_service.get(session, program_id=program.id, code=code)
        return store.name, store.type, store.city, store.active


def _entries(database: Database) -> list[tuple[str, str, object, object]]:
    with database.session_scope(read_only=True) as session:
        return [
            (e.action, e.subject_id, e.before, e.after)
            for e in session.scalars(
                select(AuditEntry).where(AuditEntry.subject_type == "store").order_by(AuditEntry.id)
            )
        ]


def test_an_admin_opens_edits_closes_and_reopens_a_store_each_audited(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/stores")
    assert page.status_code == 200 and 'id="store-SH001"' in page.text
    token = csrf(page.text)

    # open a store, twice (a double submit): made once, audited once
    for _twice in range(2):
        made = client.post(
            "/admin/stores", data={"csrf_token": token, **NEW}, follow_redirects=False
        )
        assert made.status_code == 303
    assert _store(database, program, "BJ001") == ("北京国贸店", "franchise", "北京", True)

    # rename it, close it, reopen it
    edited = client.post(
        "/admin/stores/BJ001",
        data={"csrf_token": token, "name": "北京三里屯店", "type": "direct", "city": "北京"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    for active in ("no", "yes"):
        switched = client.post(
            "/admin/stores/BJ001/active",
            data={"csrf_token": token, "active": active},
            follow_redirects=False,
        )
        assert switched.status_code == 303
    assert _store(database, program, "BJ001") == ("北京三里屯店", "direct", "北京", True)

    shown = {"code": "BJ001", "name": "北京国贸店", "type": "franchise", "city": "北京"}
    renamed = {**shown, "name": "北京三里屯店", "type": "direct"}
    assert _entries(database) == [
        ("store.create", "BJ001", None, {**shown, "active": True}),
        ("store.update", "BJ001", {**shown, "active": True}, {**renamed, "active": True}),
        ("store.close", "BJ001", {**renamed, "active": True}, {**renamed, "active": False}),
        ("store.open", "BJ001", {**renamed, "active": False}, {**renamed, "active": True}),
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("code", ""),
        ("code", "<script>alert(1)</script>"),
        ("name", ""),
        ("name", "店" * 5000),
        ("type", "kiosk"),
        ("city", "x" * 51),
        ("code", "会员\u202e"),
        ("name", "南京东路\u202e店"),
        ("city", "上\n海"),
    ],
)
def test_invalid_fields_are_marked_next_to_them_and_nothing_changes(
    client: TestClient, database: Database, staff: dict[str, Actor], field: str, value: str
) -> None:
    sign_in(client, "owner")
    english(client)
    page = client.get("/admin/stores")
    contents = table_contents(database)
    refused = client.post(
        "/admin/stores", data={"csrf_token": csrf(page.text), **NEW, field: value}
    )
    assert refused.status_code == 422
    assert f'id="error-{field}"' in refused.text
    if field != "code" and has_control_characters(value):  # a code's pattern refuses it first
        assert (
            f'id="error-{field}">This must not contain control characters (line breaks, tabs or '
            "text-direction overrides).<"
        ) in refused.text
    assert "<script>alert(1)</script>" not in refused.text
    assert table_contents(database) == contents


def test_a_code_taken_by_another_store_is_refused_on_the_page(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = client.get("/admin/stores")
    contents = table_contents(database)
    taken = client.post(
        "/admin/stores", data={"csrf_token": csrf(page.text), **NEW, "code": "SH001"}
    )
    assert taken.status_code == 409 and 'id="page-error"' in taken.text
    assert table_contents(database) == contents


def test_only_owners_and_admins_manage_stores_and_forged_tokens_change_nothing(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    contents = table_contents(database)
    for path, data in (
        ("/admin/stores", NEW),
        ("/admin/stores/SH001", NEW),
        ("/admin/stores/SH001/active", {"active": "no"}),
    ):
        assert client.post(path, data={"csrf_token": "forged", **data}).status_code == 403
    assert table_contents(database) == contents
    assert client.get("/admin/stores/NOPE").status_code == 404
    client.cookies.clear()
    sign_in(client, "manager")
    assert client.get("/admin/stores").status_code == 403
    assert client.get("/admin/stores/SH001").status_code == 403
