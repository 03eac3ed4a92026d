"""Benefits through the API: definitions, grants with quotas on the program's clock,
verifications (核销) and undo, the system benefits, the store binding."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient

from memberkit.db import Database
from tests.rest import Api, make_key, table_contents

PARKING = {"code": "free_parking", "kind": "parking", "name": "免费停车", "icon": "ti-parking"}


def put_grants(admin: Api, code: str, grants: list[dict[str, Any]]) -> Any:
    return admin.client.put(f"/api/v1/benefits/{code}/grants", json=grants, headers=admin.headers)


def use(api: Api, no: str, external_id: str, **given: Any) -> Any:
    return api.post(
        f"/api/v1/members/{no}/benefits/free_parking/uses", {"external_id": external_id, **given}
    )


def undo(api: Api, no: str, external_id: str, reason: str = "误操作") -> Any:
    return api.post(f"/api/v1/members/{no}/benefit-uses/{external_id}/undo", {"reason": reason})


def parking(admin: Api, quota: int | None = 2) -> None:
    assert admin.post("/api/v1/benefits", PARKING).status_code == 201
    granted = put_grants(
        admin, "free_parking", [{"tier": "regular", "quota": quota, "period": "month", "value": 2}]
    )
    assert granted.status_code == 200, granted.text


def test_every_program_has_the_system_benefits_which_may_only_be_renamed(
    admin: Api, database: Database
) -> None:
    listed = admin.get("/api/v1/benefits").json()
    assert [(b["code"], b["kind"], b["system"], b["active"]) for b in listed] == [
        ("tier_discount", "discount", True, True),
        ("member_price", "member_price", True, True),
        ("free_shipping", "free_shipping", True, True),
    ]
    renamed = admin.client.patch(
        "/api/v1/benefits/tier_discount",
        json={"name": "金卡折扣", "description": "全场95折"},
        headers=admin.headers,
    )
    assert (renamed.status_code, renamed.json()["name"]) == (200, "金卡折扣")
    before = table_contents(database)
    for refused in (
        admin.client.patch(
            "/api/v1/benefits/tier_discount", json={"active": False}, headers=admin.headers
        ),
        admin.client.delete("/api/v1/benefits/free_shipping", headers=admin.headers),
        admin.post("/api/v1/benefits", {**PARKING, "code": "x", "kind": "discount"}),
    ):
        assert (refused.status_code, refused.json()["code"]) == (409, "benefit_is_system")
    assert table_contents(database) == before


def test_a_verification_counts_against_the_quota_of_the_month_on_the_programs_clock(
    admin: Api, member: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> None:
    # given 2 free parking vouchers a month for regular members
    parking(admin)
    no = member["member_no"]
    mine = admin.get(f"/api/v1/members/{no}/benefits").json()
    assert mine == [
        {
            "code": "free_parking",
            "kind": "parking",
            "name": "免费停车",
            "quota": 2,
            "period": "month",
            "value": 2,
            "used": 0,
            "left": 2,
            "renews_at": "2026-12-01T00:00:00+08:00",
        }
    ]

    # when one is used, and the same use is sent again
    first = use(admin, no, "U-1", store_code="SH001")
    again = use(admin, no, "U-1", store_code="SH001")
    assert first.status_code == 201, first.text
    assert (first.json()["left"], first.json()["quantity"]) == (1, 1)
    assert (again.status_code, again.json()) == (200, first.json())

    # then two more are refused, saying when the quota starts again, and nothing changes;
    # nor can a use be dated back into a past period whose quota was left unused
    before = table_contents(database)
    dated = use(admin, no, "U-0", occurred_at="2026-11-01T10:00:00+08:00")
    assert (dated.status_code, dated.json()["code"]) == (422, "validation_error")
    refused = use(admin, no, "U-2", quantity=2)
    assert (refused.status_code, refused.json()["code"]) == (409, "benefit_quota_exhausted")
    assert refused.json()["detail"] == (
        "权益 free_parking：本期剩余 1/2，申请 2。额度将于 2026-12-01 重新开始。"
    )
    assert table_contents(database) == before
    assert use(admin, no, "U-3").json()["left"] == 0

    # and at local midnight of 1 December (still 30 November in UTC) the quota is whole again
    clock.move_to(datetime.fromisoformat("2026-12-01T00:00:30+08:00"))
    assert admin.get(f"/api/v1/members/{no}/benefits").json()[0]["left"] == 2
    assert use(admin, no, "U-4").json()["left"] == 1


def test_an_undo_within_the_window_gives_the_quota_back_once(
    admin: Api, member: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> None:
    parking(admin, quota=1)
    no = member["member_no"]
    assert use(admin, no, "U-1").status_code == 201
    done = undo(admin, no, "U-1")
    assert done.status_code == 201, done.text
    assert done.json()["undone_at"] is not None
    assert done.json()["left"] == 1  # what is left now that the use is undone
    assert undo(admin, no, "U-1").json() == done.json()  # the same undo again: the same answer
    assert use(admin, no, "U-2").json()["left"] == 0  # the quota came back, and is used again
    # past the program's 30 minutes, a use stays
    clock.shift(31 * 60)
    before = table_contents(database)
    late = undo(admin, no, "U-2")
    assert (late.status_code, late.json()["code"]) == (409, "benefit_undo_closed")
    assert table_contents(database) == before


def test_a_tier_without_the_benefit_an_inactive_benefit_and_unknown_ones_are_refused(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    assert admin.post("/api/v1/benefits", PARKING).status_code == 201
    assert put_grants(admin, "free_parking", [{"tier": "gold", "quota": 5}]).status_code == 200
    before = table_contents(database)
    not_mine = use(admin, no, "U-1")
    assert (not_mine.status_code, not_mine.json()["code"]) == (409, "benefit_not_granted")
    unknown = admin.post(f"/api/v1/members/{no}/benefits/nope/uses", {"external_id": "U-2"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "benefit_not_found")
    system = admin.post(f"/api/v1/members/{no}/benefits/tier_discount/uses", {"external_id": "U-3"})
    assert (system.status_code, system.json()["code"]) == (409, "benefit_is_system")
    assert table_contents(database) == before
    put_grants(admin, "free_parking", [{"tier": "regular"}])  # no quota: no limit
    off = admin.client.patch(
        "/api/v1/benefits/free_parking", json={"active": False}, headers=admin.headers
    )
    assert off.status_code == 200
    inactive = use(admin, no, "U-4")
    assert (inactive.status_code, inactive.json()["code"]) == (409, "benefit_inactive")


def test_grants_and_definitions_are_checked(admin: Api, database: Database) -> None:
    assert admin.post("/api/v1/benefits", PARKING).status_code == 201
    assert admin.post("/api/v1/benefits", PARKING).status_code == 200  # the same again
    other = admin.post("/api/v1/benefits", {**PARKING, "name": "停车"})
    assert (other.status_code, other.json()["code"]) == (409, "benefit_exists")
    before = table_contents(database)
    for grants, code in (
        ([{"tier": "diamond"}], "invalid_benefit"),
        ([{"tier": "regular"}, {"tier": "regular"}], "invalid_benefit"),
        ([{"tier": "regular", "quota": 0}], "validation_error"),
        ([{"tier": "regular", "period": "fortnight"}], "validation_error"),
    ):
        refused = put_grants(admin, "free_parking", grants)
        assert (refused.status_code, refused.json()["code"]) == (422, code), grants
    too_many = put_grants(admin, "free_parking", [{"tier": "regular"}] * 51)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "validation_error")
    discount = put_grants(admin, "tier_discount", [{"tier": "gold", "value": 0}])
    assert (discount.status_code, discount.json()["code"]) == (422, "invalid_benefit")
    for bad in ({**PARKING, "code": "Bad Code"}, {**PARKING, "code": "y", "name": ""}):
        assert admin.post("/api/v1/benefits", bad).status_code == 422
    hidden = admin.post("/api/v1/benefits", {**PARKING, "code": "z", "name": "停\u202e车"})
    assert (hidden.status_code, hidden.json()["code"]) == (422, "control_characters")
    assert table_contents(database) == before
    # a benefit never used may be deleted
    gone = admin.client.delete("/api/v1/benefits/free_parking", headers=admin.headers)
    assert gone.status_code == 204
    assert [b["code"] for b in admin.get("/api/v1/benefits").json()] == [
        "tier_discount",
        "member_price",
        "free_shipping",
    ]


def test_a_used_benefit_is_kept_and_a_store_key_undoes_only_its_stores_uses(
    admin: Api, member: dict[str, Any], client: TestClient, database: Database
) -> None:
    parking(admin, quota=None)
    no = member["member_no"]
    admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京店", "type": "direct"})
    sh = Api(client, make_key(database, "pos", store="SH001"))
    bj = Api(client, make_key(database, "pos", store="BJ001"))
    assert use(sh, no, "U-SH").status_code == 201
    refused = undo(bj, no, "U-SH")
    assert (refused.status_code, refused.json()["code"]) == (403, "store_mismatch")
    assert use(bj, no, "U-BJ", store_code="SH001").json()["code"] == "store_mismatch"
    kept = admin.client.delete("/api/v1/benefits/free_parking", headers=admin.headers)
    assert (kept.status_code, kept.json()["code"]) == (409, "benefit_used")
    assert undo(sh, no, "U-SH").status_code == 201


@pytest.mark.parametrize("code", ["member_price", "free_shipping"])
def test_a_system_benefit_nothing_applies_yet_cannot_be_granted(
    admin: Api, database: Database, code: str
) -> None:
    # given the system benefits orders do not carry yet (member prices, a shipping fee)
    before = table_contents(database)

    # when one is granted to a tier, it is refused, saying why, and nothing changes
    refused = admin.client.put(
        f"/api/v1/benefits/{code}/grants",
        json=[{"tier": "gold", "quota": None}],
        headers={**admin.headers, "Accept-Language": "en"},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_benefit")
    assert "not applied at checkout yet" in refused.json()["detail"]
    assert table_contents(database) == before

    # while the tier discount, which checkout applies, is granted
    assert put_grants(admin, "tier_discount", [{"tier": "gold", "value": 9000}]).status_code == 200
