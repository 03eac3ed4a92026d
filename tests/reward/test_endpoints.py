"""The points catalog through the API: rewards, redemptions, pickup and cancelling; every
refusal answers its code and leaves every table as it was."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import time_machine
from fastapi.testclient import TestClient

from memberkit.db import Database
from tests.rest import Api, make_key, table_contents

TUMBLER = {"code": "tumbler", "kind": "goods", "name": "保温杯", "points": 500, "stock": 3}


def credit(admin: Api, no: str, points: int, key: str = "C-1") -> None:
    done = admin.post(
        f"/api/v1/members/{no}/points/adjustments",
        {"points": points, "reason": "活动赠送"},
        **{"Idempotency-Key": key},
    )
    assert done.status_code == 201, done.text


def define(admin: Api, **changes: Any) -> Any:
    made = admin.post("/api/v1/rewards", {**TUMBLER, **changes})
    assert made.status_code == 201, made.text
    return made.json()


def redeem(api: Api, no: str, external_id: str, **given: Any) -> Any:
    body = {"reward": "tumbler", "external_id": external_id, **given}
    return api.post(f"/api/v1/members/{no}/redemptions", body)


def refused(response: Any, status: int, code: str) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


def test_a_reward_is_defined_once_listed_changed_and_switched_off(admin: Api) -> None:
    made = define(admin, cash="9.90", limit_count=2, limit_period="month", tiers=["gold"])
    assert made == {
        "code": "tumbler",
        "kind": "goods",
        "name": "保温杯",
        "description": "",
        "picture_url": "",
        "points": 500,
        "cash": "9.90",
        "stock": 3,
        "redeemed": 0,
        "limit_count": 2,
        "limit_period": "month",
        "available_from": None,
        "available_until": None,
        "tiers": ["gold"],
        "active": True,
    }
    again = admin.post(
        "/api/v1/rewards",
        {**TUMBLER, "cash": "9.90", "limit_count": 2, "limit_period": "month", "tiers": ["gold"]},
    )
    assert (again.status_code, again.json()) == (200, made)
    changed = admin.patch("/api/v1/rewards/tumbler", {"stock": None, "active": False})
    assert (changed.status_code, changed.json()["stock"], changed.json()["active"]) == (
        200,
        None,
        False,
    )
    assert admin.get("/api/v1/rewards", active="true").json() == []
    assert [r["code"] for r in admin.get("/api/v1/rewards").json()] == ["tumbler"]


def test_definitions_that_make_no_sense_are_refused_and_change_nothing(
    admin: Api, database: Database
) -> None:
    define(admin)
    before = table_contents(database)
    refused(admin.post("/api/v1/rewards", {**TUMBLER, "name": "别的"}), 409, "reward_exists")
    # a coupon reward names its template, an existing one, and takes no cash; others name none
    refused(
        admin.post("/api/v1/rewards", {**TUMBLER, "code": "c1", "kind": "coupon"}),
        422,
        "invalid_reward",
    )
    refused(
        admin.post(
            "/api/v1/rewards",
            {**TUMBLER, "code": "c1", "kind": "coupon", "coupon_template": "nope"},
        ),
        404,
        "coupon_template_not_found",
    )
    refused(
        admin.post("/api/v1/rewards", {**TUMBLER, "code": "t1", "coupon_template": "cash10"}),
        422,
        "invalid_reward",
    )
    refused(
        admin.post("/api/v1/rewards", {**TUMBLER, "code": "t2", "tiers": ["diamond"]}),
        422,
        "invalid_reward",
    )
    refused(
        admin.post(
            "/api/v1/rewards",
            {
                **TUMBLER,
                "code": "t3",
                "available_from": "2026-12-02T00:00:00+08:00",
                "available_until": "2026-12-01T00:00:00+08:00",
            },
        ),
        422,
        "invalid_reward",
    )
    refused(
        admin.post("/api/v1/rewards", {**TUMBLER, "code": "t4", "picture_url": "javascript:x"}),
        422,
        "validation_error",
    )
    refused(admin.patch("/api/v1/rewards/nope", {"active": False}), 404, "reward_not_found")
    assert table_contents(database) == before
    pos = Api(admin.client, make_key(database, "pos"))
    refused(pos.post("/api/v1/rewards", {**TUMBLER, "code": "t5"}), 403, "forbidden")


def test_a_redemption_burns_points_once_and_waits_for_pickup(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a member with 1200 points and a tumbler of 500 points (3 in stock)
    no = member["member_no"]
    credit(admin, no, 1200)
    define(admin, cash="5.00")

    # when they redeem two, and the same request comes again
    first = redeem(admin, no, "R-1", quantity=2, store_code="SH001")
    again = redeem(admin, no, "R-1", quantity=2, store_code="SH001")

    # then 1000 points are burnt once, one unit is left, and it waits for pickup
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["points"], body["cash"], body["status"], body["points_balance"]) == (
        1000,
        "10.00",
        "pending",
        200,
    )
    assert (again.status_code, again.json()) == (200, body)
    assert admin.get("/api/v1/rewards/tumbler").json()["stock"] == 1
    assert admin.get(f"/api/v1/members/{no}/points").json()["balance"] == 200
    listed = admin.get(f"/api/v1/members/{no}/redemptions").json()
    assert [(r["external_id"], r["status"], r["store_code"]) for r in listed] == [
        ("R-1", "pending", "SH001")
    ]


def test_every_refused_redemption_answers_its_code_and_changes_nothing(
    admin: Api, member: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> None:
    no = member["member_no"]
    credit(admin, no, 2000)
    define(admin, stock=1, limit_count=1, limit_period="day")
    admin.post("/api/v1/rewards", {**TUMBLER, "code": "gold_only", "tiers": ["gold"]})
    admin.post("/api/v1/rewards", {**TUMBLER, "code": "off", "active": False})
    admin.post(
        "/api/v1/rewards",
        {**TUMBLER, "code": "later", "available_from": "2026-12-01T00:00:00+08:00"},
    )
    admin.post(
        "/api/v1/rewards",
        {**TUMBLER, "code": "over", "available_until": "2026-11-01T00:00:00+08:00"},
    )
    admin.post("/api/v1/rewards", {**TUMBLER, "code": "dear", "points": 5000})
    assert redeem(admin, no, "R-1").status_code == 201
    before = table_contents(database)

    refused(redeem(admin, no, "R-2"), 409, "reward_member_limit")
    refused(redeem(admin, no, "R-3", reward="gold_only"), 409, "reward_tier_restricted")
    refused(redeem(admin, no, "R-4", reward="off"), 409, "reward_not_available")
    refused(redeem(admin, no, "R-5", reward="later"), 409, "reward_not_available")
    refused(redeem(admin, no, "R-6", reward="over"), 409, "reward_not_available")
    refused(redeem(admin, no, "R-7", reward="dear"), 409, "insufficient_points")
    refused(redeem(admin, no, "R-8", reward="nope"), 404, "reward_not_found")
    refused(redeem(admin, no, "R-9", quantity=21), 422, "validation_error")
    refused(redeem(admin, "99999", "R-10"), 404, "member_not_found")
    refused(
        admin.post(
            f"/api/v1/members/{no}/redemptions",
            {"reward": "tumbler", "external_id": "R-1", "quantity": 2},
        ),
        409,
        "idempotency_conflict",
    )
    assert table_contents(database) == before

    # the next day the limit starts again, but the stock is gone
    clock.move_to(datetime.fromisoformat("2026-11-24T00:00:30+08:00"))
    refused(redeem(admin, no, "R-11"), 409, "reward_out_of_stock")
    assert table_contents(database) == before


def test_a_frozen_member_cannot_redeem(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    credit(admin, no, 1000)
    define(admin)
    frozen = admin.patch(f"/api/v1/members/{no}", {"status": "frozen"})
    assert frozen.status_code == 200, frozen.text
    before = table_contents(database)
    refused(redeem(admin, no, "R-1"), 409, "member_inactive")
    assert table_contents(database) == before


def test_a_pickup_at_a_store_is_recorded_once_and_then_cannot_be_cancelled(
    admin: Api, member: dict[str, Any], database: Database, client: TestClient
) -> None:
    no = member["member_no"]
    credit(admin, no, 1000)
    define(admin)
    assert redeem(admin, no, "R-1").status_code == 201
    till = Api(client, make_key(database, "pos", "SH001"))

    picked = till.post("/api/v1/redemptions/R-1/fulfil", {})
    again = till.post("/api/v1/redemptions/R-1/fulfil", {})

    assert picked.status_code == 201, picked.text
    assert (picked.json()["status"], picked.json()["pickup_store_code"]) == ("fulfilled", "SH001")
    assert (again.status_code, again.json()) == (200, picked.json())
    before = table_contents(database)
    refused(
        admin.post("/api/v1/redemptions/R-1/cancel", {"reason": "退"}),
        409,
        "redemption_not_pending",
    )
    # another caller's pickup of it is not a repeat of this one: refused as such
    refused(
        admin.post("/api/v1/redemptions/R-1/fulfil", {"store_code": "SH001"}),
        409,
        "idempotency_conflict",
    )
    refused(
        admin.post("/api/v1/redemptions/R-9/cancel", {"reason": "退"}), 404, "redemption_not_found"
    )
    refused(
        till.post("/api/v1/redemptions/R-1/fulfil", {"store_code": "BJ001"}), 403, "store_mismatch"
    )
    refused(admin.post("/api/v1/redemptions/R-1/fulfil", {}), 422, "store_required")
    assert table_contents(database) == before
    shown = admin.get("/api/v1/redemptions", status="fulfilled", store_code="SH001").json()
    assert [r["external_id"] for r in shown] == ["R-1"]


def test_a_cancellation_gives_points_and_stock_back_once(
    admin: Api, member: dict[str, Any], database: Database, client: TestClient
) -> None:
    no = member["member_no"]
    credit(admin, no, 1500)
    define(admin)
    assert redeem(admin, no, "R-1", quantity=2).status_code == 201
    assert redeem(admin, no, "R-2", store_code="SH001").status_code == 201

    # a till of another store may not cancel what it did not redeem
    admin.post(
        "/api/v1/stores", {"code": "BJ001", "name": "北京店", "type": "direct", "city": "北京"}
    )
    other = Api(client, make_key(database, "pos", "BJ001"))
    before = table_contents(database)
    refused(other.post("/api/v1/redemptions/R-2/cancel", {"reason": "退"}), 403, "store_mismatch")
    refused(other.post("/api/v1/redemptions/R-1/cancel", {"reason": "退"}), 403, "store_mismatch")
    refused(admin.post("/api/v1/redemptions/R-1/cancel", {"reason": ""}), 422, "validation_error")
    assert table_contents(database) == before

    done = admin.post("/api/v1/redemptions/R-1/cancel", {"reason": "会员改主意"})
    again = admin.post("/api/v1/redemptions/R-1/cancel", {"reason": "会员改主意"})

    assert done.status_code == 201, done.text
    assert (done.json()["status"], done.json()["points_balance"], done.json()["cancel_reason"]) == (
        "cancelled",
        1000,
        "会员改主意",
    )
    assert (again.status_code, again.json()) == (200, done.json())
    assert admin.get("/api/v1/rewards/tumbler").json()["stock"] == 2
    assert admin.get(f"/api/v1/members/{no}/points").json()["balance"] == 1000
