"""Coupon rewards (积分换券): redeeming one issues its coupons at once, through the one issuing
path, so the template's budget and limit hold; a refusal refuses the redemption whole."""

from __future__ import annotations

from typing import Any

from memberkit.db import Database
from tests.rest import Api, table_contents
from tests.reward.test_endpoints import credit, redeem, refused

CASH10 = {"code": "cash10", "name": "十元代金券", "kind": "cash", "off": "10.00", "valid_days": 30}
VOUCHER = {
    "code": "voucher",
    "kind": "coupon",
    "name": "十元券",
    "points": 300,
    "coupon_template": "cash10",
}


def setup_rewards(admin: Api, **template: Any) -> None:
    made = admin.post("/api/v1/coupon-templates", {**CASH10, **template})
    assert made.status_code == 201, made.text
    defined = admin.post("/api/v1/rewards", VOUCHER)
    assert defined.status_code == 201, defined.text
    assert defined.json()["kind"] == "coupon"


def test_redeeming_a_coupon_reward_issues_its_coupons_at_once(
    admin: Api, member: dict[str, Any]
) -> None:
    # given 1000 points and a ¥10 voucher for 300 points
    no = member["member_no"]
    credit(admin, no, 1000)
    setup_rewards(admin)

    # when two are redeemed, and the same request comes again
    first = redeem(admin, no, "RV-1", reward="voucher", quantity=2)
    again = redeem(admin, no, "RV-1", reward="voucher", quantity=2)

    # then 600 points are burnt once, two coupons are the member's, and nothing waits
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["points"], body["status"], body["points_balance"]) == (600, "fulfilled", 400)
    assert len(body["coupons"]) == 2 and len(set(body["coupons"])) == 2
    assert (again.status_code, again.json()) == (200, body)
    held = admin.get(f"/api/v1/members/{no}/coupons").json()
    assert sorted(c["code"] for c in held) == sorted(body["coupons"])
    assert {c["source"] for c in held} == {"reward"}
    assert admin.get("/api/v1/redemptions/RV-1").json()["coupons"] == body["coupons"]
    # and a delivered coupon reward cannot be cancelled
    cancel = admin.post("/api/v1/redemptions/RV-1/cancel", {"reason": "不要了"})
    refused(cancel, 409, "redemption_not_pending")


def test_a_spent_coupon_budget_refuses_the_redemption_whole(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a template with one coupon left to give
    no = member["member_no"]
    credit(admin, no, 1000)
    setup_rewards(admin, budget_count=1)
    before = table_contents(database)

    # when two are redeemed at once, it is refused, and neither points nor stock move
    refused(redeem(admin, no, "RV-1", reward="voucher", quantity=2), 409, "coupon_budget_spent")
    assert table_contents(database) == before

    # and one still can be
    assert redeem(admin, no, "RV-2", reward="voucher").status_code == 201


def test_a_coupon_reward_takes_no_cash_part(admin: Api, database: Database) -> None:
    assert admin.post("/api/v1/coupon-templates", CASH10).status_code == 201
    before = table_contents(database)
    refused(admin.post("/api/v1/rewards", {**VOUCHER, "cash": "5.00"}), 422, "invalid_reward")
    assert table_contents(database) == before
