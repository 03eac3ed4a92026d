"""The API keys page: issue a key (shown once, a double submit issues one), list, revoke."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.auth.models import ApiKey
from memberkit.db import Database
from memberkit.staff.rules import Actor
from tests.admin.conftest import cheap_hashes, staff
from tests.admin.test_views import csrf, sign_in
from tests.program.test_views import english
from tests.rest import table_contents

__all__ = ["cheap_hashes", "staff"]


def form_key(page: str) -> str:
    """The run-once key a console form carries."""
    found = re.search(r'name="form_key" value="([0-9a-f]+)"', page)
    assert found
    return found.group(1)


def test_a_key_is_shown_once_works_is_listed_and_revoked_each_audited(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    english(client)
    page = client.get("/admin/api-keys").text
    data = {
        "csrf_token": csrf(page),
        "form_key": form_key(page),
        "name": "收银台 SH001",
        "scope": "pos",
        "store_code": "SH001",
    }
    issued = client.post("/admin/api-keys", data=data)
    assert issued.status_code == 201
    key = re.search(r'id="new-key">(mk_[^<]+)<', issued.text)
    assert key is not None
    assert (
        client.get(
            "/api/v1/stores", headers={"Authorization": f"Bearer {key.group(1)}"}
        ).status_code
        == 200
    )

    # a double submit of the same form issues nothing more, and does not show the key again
    again = client.post("/admin/api-keys", data=data)
    assert again.status_code == 200 and 'id="key-repeated"' in again.text
    assert key.group(1) not in again.text
    with database.session_scope(read_only=True) as session:
        [made] = session.scalars(select(ApiKey))
    prefix = made.prefix
    assert f'id="key-{prefix}"' in client.get("/admin/api-keys").text

    revoked = client.post(
        f"/admin/api-keys/{prefix}/revoke", data={"csrf_token": csrf(page)}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert (
        client.get(
            "/api/v1/stores", headers={"Authorization": f"Bearer {key.group(1)}"}
        ).status_code
        == 401
    )
    with database.session_scope(read_only=True) as session:
        entries = [
            (e.action, e.after)
            for e in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject_type == "api_key")
                .order_by(AuditEntry.id)
            )
        ]
    assert entries == [
        (
            "apikey.create",
            {"prefix": prefix, "name": "收银台 SH001", "scope": "pos", "store_code": "SH001"},
        ),
        ("apikey.revoke", {"prefix": prefix, "name": "收银台 SH001", "revoked": True}),
    ]
    assert all(key.group(1) not in str(after) for _a, after in entries)


def test_bad_fields_are_marked_and_nothing_is_issued(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/api-keys").text
    contents = table_contents(database)
    for field, value in (
        ("name", ""),
        ("name", "<script>alert(1)</script>" * 20),
        ("scope", "root"),
        ("store_code", "NOPE"),
        ("store_code", "店" * 100),
    ):
        data = {"csrf_token": csrf(page), "form_key": form_key(page), "name": "k", "scope": "read"}
        refused = client.post("/admin/api-keys", data={**data, field: value})
        assert 400 <= refused.status_code < 500, (field, value)
        assert f'id="error-{field}"' in refused.text, (field, value)
        assert "<script>alert(1)</script>" not in refused.text
    assert (
        client.post("/admin/api-keys/ffff/revoke", data={"csrf_token": csrf(page)}).status_code
        == 404
    )
    assert (
        client.post(
            "/admin/api-keys", data={"csrf_token": "x", "name": "k", "scope": "read"}
        ).status_code
        == 403
    )
    assert table_contents(database) == contents


def test_store_roles_may_not_see_the_keys(client: TestClient, staff: dict[str, Actor]) -> None:
    sign_in(client, "manager")
    assert client.get("/admin/api-keys").status_code == 403
