"""The settings pages through HTTP: a form per section, saved through the program service."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.sections import SECTIONS
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf, sign_in
from tests.rest import table_contents

__all__ = ["cheap_hashes", "staff"]


def _stored(database: Database, program: ProgramConfig, name: str) -> object:
    with database.session_scope(read_only=True) as session:
        return program_service.by_id(session, program.id).shown(program_service.section_named(name))


def _audit(database: Database, action: str) -> list[AuditEntry]:
    with database.session_scope(read_only=True) as session:
        from sqlalchemy import select

        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def english(client: TestClient) -> None:
    """Switch the signed-in account's console to English."""
    page = client.get("/account/password")
    switched = client.post(
        "/account/locale",
        data={"csrf_token": csrf(page.text), "locale": "en", "next": "/admin"},
        follow_redirects=False,
    )
    assert switched.status_code == 303


def _open(client: TestClient, path: str, locale: str = "en") -> str:
    page = client.get(path, headers={"Accept-Language": locale})
    assert page.status_code == 200, page.text
    return page.text


@pytest.fixture
def analyst(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> str:
    """An analyst account (reads settings, changes nothing)."""
    with database.session_scope() as session:
        staff_service.create_user(
            session,
            program_id=program.id,
            username="analyst",
            password="analyst-pass-2026",
            role="analyst",
        )
    PASSWORDS.setdefault("analyst", "analyst-pass-2026")
    return "analyst"


def test_every_section_renders_as_a_form_and_as_json(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    index = _open(client, "/admin/settings")
    for section in SECTIONS:
        assert f'href="/admin/settings/{section.name}"' in index
        page = _open(client, f"/admin/settings/{section.name}")
        assert 'id="settings-form"' in page and 'id="save-settings"' in page
        raw = _open(client, f"/admin/settings/{section.name}?view=json")
        assert 'name="raw"' in raw


def test_shapes_the_form_cannot_lay_out_say_which_they_are(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    english(client)
    page = _open(client, "/admin/settings/earning")
    assert 'data-why-json="date_multipliers"' in page and "a list of objects" in page
    assert 'name="v.points_per_unit"' in page and 'name="v.category_multipliers"' in page


def test_an_admin_saves_a_section_from_its_form_and_it_is_audited(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given the owner on the policies form
    sign_in(client, "owner")
    page = _open(client, "/admin/settings/policies")
    before = _stored(database, program, "policies")

    # when they change the days a request may be dated back
    saved = client.post(
        "/admin/settings/policies",
        data={
            "csrf_token": csrf(page),
            "v.backdate_days": "7",
            "v.idempotency_retention_days": "30",
        },
        follow_redirects=False,
    )

    # then the section holds it, and the audit log says who changed what from what
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        "/admin/settings/policies?saved=true",
    )
    after = _stored(database, program, "policies")
    assert after == {**before, "backdate_days": 7, "cross_store_returns": False}  # type: ignore[dict-item]
    [entry] = _audit(database, "settings.change")
    assert (entry.subject_id, entry.before, entry.after, entry.actor_name) == (
        "policies",
        before,
        after,
        "owner",
    )


def test_a_value_the_section_refuses_is_shown_next_to_the_form_and_nothing_changes(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = _open(client, "/admin/settings/validity")
    contents = table_contents(database)
    refused = client.post(
        "/admin/settings/validity",
        data={"csrf_token": csrf(page), "v.type": "forever", "v.days": "365", "v.years": "1"},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert 'id="settings-error"' in refused.text and "forever" in refused.text
    assert table_contents(database) == contents


def test_a_field_that_cannot_be_read_is_marked_in_the_users_language(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = _open(client, "/admin/settings/validity")
    for locale, words in (("en", "Enter a whole number."), ("zh_CN", "请输入整数")):
        with database.session_scope() as session:
            staff_service.set_locale(
                session,
                principal=staff_service.require(
                    database, token=client.cookies.get("memberkit_session")
                ),
                locale=locale,
            )
        refused = client.post(
            "/admin/settings/validity",
            data={"csrf_token": csrf(page), "v.type": "rolling_days", "v.days": "many"},
        )
        assert refused.status_code == 422
        assert 'id="error-days"' in refused.text and words in refused.text
        assert 'value="many"' in refused.text  # what was entered is shown again
    assert _audit(database, "settings.change") == []


def test_the_json_view_saves_and_refuses_bad_json(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = _open(client, "/admin/settings/wallet?view=json")
    contents = table_contents(database)
    bad = client.post(
        "/admin/settings/wallet",
        data={"csrf_token": csrf(page), "mode": "json", "raw": "{not json"},
    )
    assert bad.status_code == 422 and 'id="settings-error"' in bad.text
    assert table_contents(database) == contents
    value = {"bonuses": [{"at_least": "100.00", "bonus": "10.00"}], "max_balance": "3000.00"}
    good = client.post(
        "/admin/settings/wallet",
        data={"csrf_token": csrf(page), "mode": "json", "raw": json.dumps(value)},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert _stored(database, program, "wallet") == {
        **value,
        "refund_days": 7,
        "stopped_serving": False,
    }


def test_roles_that_may_only_view_see_a_read_only_form_and_cannot_save(
    client: TestClient, database: Database, staff: dict[str, Actor], analyst: str
) -> None:
    sign_in(client, analyst)
    page = _open(client, "/admin/settings/policies")
    assert 'id="read-only"' in page and 'id="save-settings"' not in page
    contents = table_contents(database)
    refused = client.post(
        "/admin/settings/policies",
        data={"csrf_token": csrf(page), "v.backdate_days": "3"},
    )
    assert refused.status_code == 403
    assert table_contents(database) == contents


def test_a_cashier_may_not_see_the_settings(client: TestClient, staff: dict[str, Actor]) -> None:
    sign_in(client, "cashier")
    for path in ("/admin/settings", "/admin/settings/earning"):
        assert client.get(path).status_code == 403
    assert 'href="/admin/settings"' not in client.get("/account/password").text


def test_a_form_without_its_token_is_refused(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    contents = table_contents(database)
    for token in ("", "forged"):
        refused = client.post(
            "/admin/settings/policies", data={"csrf_token": token, "v.backdate_days": "3"}
        )
        assert refused.status_code == 403
    assert table_contents(database) == contents


@pytest.mark.parametrize(
    "hostile",
    ["", "x" * 100_000, "<script>alert(1)</script>", "会员\u202e\u0000", "{" * 5000, "9" * 400],
)
def test_hostile_input_never_gives_a_500_nor_changes_anything(
    client: TestClient, database: Database, staff: dict[str, Actor], hostile: str
) -> None:
    sign_in(client, "owner")
    page = _open(client, "/admin/settings/earning")
    contents = table_contents(database)
    for data in (
        {"v.rounding": hostile, "v.points_per_unit": hostile, "v.date_multipliers": hostile},
        {"mode": "json", "raw": hostile},
        {"v.category_multipliers": hostile, "v.excluded_categories": hostile},
    ):
        answer = client.post("/admin/settings/earning", data={"csrf_token": csrf(page), **data})
        assert answer.status_code in (303, 413, 422), answer.text[:500]
        assert "<script>alert(1)</script>" not in answer.text
    assert client.get("/admin/settings/nope" + quote(hostile[:50])).status_code in (400, 404, 422)
    assert table_contents(database) == contents or hostile == ""


def test_the_order_cap_is_a_field_of_the_earning_form_and_is_saved_or_refused(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given the owner on the earning form, which shows the cap in force (¥50,000.00)
    sign_in(client, "owner")
    page = _open(client, "/admin/settings/earning")
    assert re.search(r'name="v.max_order_amount"[^>]*value="50000.00"', page), page
    fields = {
        "csrf_token": csrf(page),
        "v.points_per_unit": "1",
        "v.growth_per_unit": "1",
        "v.rounding": "floor",
        "v.min_order_amount": "0.00",
    }

    # when a cap of nothing is sent, then it is refused and nothing changes
    contents = table_contents(database)
    refused = client.post("/admin/settings/earning", data={**fields, "v.max_order_amount": "0"})
    assert refused.status_code == 422
    assert "max_order_amount" in refused.text
    assert table_contents(database) == contents

    # when the merchant raises it, then it is stored in its canonical form
    saved = client.post(
        "/admin/settings/earning",
        data={**fields, "v.max_order_amount": "120000"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert _stored(database, program, "earning")["max_order_amount"] == "120000.00"  # type: ignore[index]
