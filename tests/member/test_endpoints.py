"""Members through the API: registration, look-up, changes, PII at rest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.member.rules import valid_member_no
from tests.rest import Api, table_contents


def test_registration_stores_pii_encrypted(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    assert valid_member_no(member["member_no"])
    assert (member["phone"], member["name"], member["birthday"], member["store_code"]) == (
        "13800138000",
        "张三",
        "1990-05-01",
        "SH001",
    )
    with database.session_scope() as session:
        row = session.scalars(select(Member)).one()
        stored = " ".join(
            str(v) for v in (row.phone_enc, row.name_enc, row.birthday_enc, row.phone_index)
        )
    assert "13800138000" not in stored and "张三" not in stored and "1990" not in stored


def test_find_by_phone_in_any_usual_format(admin: Api, member: dict[str, Any]) -> None:
    found = admin.get("/api/v1/members", phone="+86 138-0013-8000")
    assert found.status_code == 200
    assert found.json()["member_no"] == member["member_no"]
    missing = admin.get("/api/v1/members", phone="13900139000")
    assert (missing.status_code, missing.json()["code"]) == (404, "member_not_found")


def test_second_registration_of_a_phone(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    before = table_contents(database)
    again = admin.post("/api/v1/members", {"phone": "138 0013 8000"})
    assert (again.status_code, again.json()["code"]) == (409, "member_exists")
    assert member["member_no"] in again.json()["detail"]
    assert table_contents(database) == before


def test_registration_with_idempotency_key_replays(admin: Api, store: dict[str, Any]) -> None:
    first = admin.post("/api/v1/members", {"phone": "13900139000"}, **{"Idempotency-Key": "reg-1"})
    again = admin.post("/api/v1/members", {"phone": "13900139000"}, **{"Idempotency-Key": "reg-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"phone": "12345"}, "invalid_phone"),
        ({"phone": "23800138000"}, "invalid_phone"),
        ({"phone": "13800138001", "store_code": "NOPE"}, "store_not_found"),
        ({"phone": "13800138001", "birthday": "2999-01-01"}, "invalid_member"),
        ({"phone": "13800138001", "birthday": "1990-02-30"}, "validation_error"),
        ({"phone": "13800138001", "email": "not-an-email"}, "invalid_member"),
        ({"phone": "13800138001", "gender": "robot"}, "validation_error"),
        ({"phone": "13800138001", "referrer_member_no": "800000000000"}, "member_not_found"),
        ({"name": "no phone"}, "validation_error"),
    ],
)
def test_bad_registrations_write_nothing(
    admin: Api, store: dict[str, Any], database: Database, body: dict[str, Any], code: str
) -> None:
    before = table_contents(database)
    response = admin.post("/api/v1/members", body, **{"Accept-Language": "en"})
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == code
    assert table_contents(database) == before


def test_patch_changes_only_given_fields(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    changed = admin.patch(
        f"/api/v1/members/{no}", {"name": "张三丰", "tags": ["vip", "coffee", "vip"]}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["tags"], body["phone"], body["birthday"]) == (
        "张三丰",
        ["coffee", "vip"],
        "13800138000",
        "1990-05-01",
    )
    phone = admin.patch(f"/api/v1/members/{no}", {"phone": "13900139000"})
    assert phone.json()["phone"] == "13900139000"
    assert admin.get("/api/v1/members", phone="13900139000").json()["member_no"] == no
    closed = admin.patch(f"/api/v1/members/{no}", {"status": "closed"})
    assert closed.json()["status"] == "closed"
    refused = admin.patch(f"/api/v1/members/{no}", {"name": "x"})
    assert (refused.status_code, refused.json()["code"]) == (409, "member_closed")


def test_qr_token_rotates(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    first = admin.post(f"/api/v1/members/{no}/qr-token", {}).json()["qr_token"]
    assert admin.get("/api/v1/members", qr_token=first).json()["member_no"] == no
    second = admin.post(f"/api/v1/members/{no}/qr-token", {}).json()["qr_token"]
    assert admin.get("/api/v1/members", qr_token=second).status_code == 200
    assert admin.get("/api/v1/members", qr_token=first).status_code == 404


def test_unknown_routes_and_methods_are_problems(admin: Api) -> None:
    missing = admin.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert admin.get("/api/v1/members/800000000000").json()["code"] == "member_not_found"
