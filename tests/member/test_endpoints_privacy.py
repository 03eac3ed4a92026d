"""What each key sees of a member, and look-up without the phone in the URL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from memberkit.db import Database
from memberkit.member.models import Member
from tests.rest import Api, make_key, table_contents

FULL = ("13800138000", "1990-05-01")
MASKED = ("138****8000", "****-05-01")


def shown(response: Any) -> tuple[str, str]:
    assert response.status_code in (200, 201), response.text
    return response.json()["phone"], response.json()["birthday"]


@pytest.mark.parametrize("scope", ["pos", "read"])
def test_pos_and_read_keys_see_phone_and_birthday_masked(
    client: Any, admin: Api, member: dict[str, Any], database: Database, scope: str
) -> None:
    # given a member, and a pos or read key
    key = Api(client, make_key(database, scope))
    no = member["member_no"]
    # when the key looks the member up in every way
    views = [
        key.get(f"/api/v1/members/{no}"),
        key.get("/api/v1/members", phone="13800138000"),
        key.post("/api/v1/members/search", {"phone": "13800138000"}),
    ]
    # then it sees the phone and birthday masked, the rest in full
    assert [shown(view) for view in views] == [MASKED] * 3
    assert views[0].json()["name"] == "张三"
    # and an admin key sees them in full
    assert shown(admin.get(f"/api/v1/members/{no}")) == FULL
    assert (member["phone"], member["birthday"]) == FULL


def test_a_pos_keys_registration_and_its_replay_are_masked(
    client: Any, store: dict[str, Any], database: Database
) -> None:
    pos = Api(client, make_key(database, "pos"))
    body = {"phone": "13800138000", "birthday": "1990-05-01"}
    first = pos.post("/api/v1/members", body, **{"Idempotency-Key": "reg-1"})
    again = pos.post("/api/v1/members", body, **{"Idempotency-Key": "reg-1"})
    changed = pos.patch(f"/api/v1/members/{first.json()['member_no']}", {"name": "王五"})
    assert [shown(first), shown(again), shown(changed)] == [MASKED] * 3
    plain = pos.post("/api/v1/members", {"phone": "13900139000", "birthday": "1991-12-31"})
    assert shown(plain) == ("139****9000", "****-12-31")


def test_search_by_qr_token_in_the_body(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    token = admin.post(f"/api/v1/members/{no}/qr-token", {}).json()["qr_token"]
    found = admin.post("/api/v1/members/search", {"qr_token": token})
    assert (found.status_code, found.json()["member_no"]) == (200, no)
    for body in ({}, {"phone": "13800138000", "qr_token": token}):
        refused = admin.post("/api/v1/members/search", body)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_member")
    missing = admin.post("/api/v1/members/search", {"phone": "13900139000"})
    assert (missing.status_code, missing.json()["code"]) == (404, "member_not_found")


def test_a_member_whose_encrypted_data_was_copied_from_another_is_409_never_500(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a second member whose encrypted phone is overwritten with the first member's
    other = admin.post("/api/v1/members", {"phone": "13900139000", "name": "李四"}).json()
    with database.session_scope() as session:
        copied = session.scalar(
            select(Member.phone_enc).where(Member.member_no == member["member_no"])
        )
        session.execute(
            update(Member).where(Member.member_no == other["member_no"]).values(phone_enc=copied)
        )
    before = table_contents(database)
    # when it is read or changed
    path = f"/api/v1/members/{other['member_no']}"
    read = admin.client.get(path, headers={**admin.headers, "Accept-Language": "en"})
    changed = admin.patch(path, {"name": "王五"})
    # then both are refused with a code and a message saying what to do, and nothing changed
    assert (read.status_code, read.json()["code"]) == (409, "member_data_unreadable")
    assert read.json()["detail"] == (
        f"The personal data of member {other['member_no']} cannot be decrypted: it was altered,"
        " or encrypted with another secret key. Restore it from a backup."
    )
    assert (changed.status_code, changed.json()["code"]) == (409, "member_data_unreadable")
    assert changed.json()["detail"] == (
        f"会员 {other['member_no']} 的个人资料无法解密：数据被篡改，或是用另一个密钥加密的。"
        "请从备份中恢复。"
    )
    assert table_contents(database) == before
    # while the first member still reads as before
    assert admin.get(f"/api/v1/members/{member['member_no']}").status_code == 200
