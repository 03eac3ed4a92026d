"""Tiers through the API: the ladder, a member's tier and history."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import time_machine
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.tier.rules import DEFAULT_LADDER
from tests.rest import Api, order_body


def test_ladder_is_read_and_replaced_only_when_valid(admin: Api) -> None:
    assert admin.get("/api/v1/tiers").json() == DEFAULT_LADDER
    bad = copy.deepcopy(DEFAULT_LADDER)
    bad["tiers"][2]["qualify"] = {"growth_at_least": 500}
    refused = admin.client.put("/api/v1/tiers", json=bad, headers=admin.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert refused.json()["detail"] == (
        "会员方案设置无效：qualify 门槛须逐级递增：gold 所需成长值须高于 silver（500 <= 1000）"
    )
    in_english = admin.client.put(
        "/api/v1/tiers", json=bad, headers={**admin.headers, "Accept-Language": "en"}
    )
    assert in_english.json()["detail"] == (
        "Invalid program settings: qualify thresholds must rise: gold needs more growth than "
        "silver (500 <= 1000)"
    )
    assert admin.get("/api/v1/tiers").json() == DEFAULT_LADDER

    two = {
        "period": "twelve_months",
        "review": "to_qualified",
        "tiers": [
            {"code": "member", "name": "会员"},
            {
                "code": "vip",
                "name": "VIP",
                "multiplier": "2",
                "qualify": {"orders_at_least": 2, "within_days": 7},
            },
        ],
    }
    accepted = admin.client.put("/api/v1/tiers", json=two, headers=admin.headers)
    assert accepted.status_code == 200, accepted.text
    assert admin.get("/api/v1/tiers").json()["tiers"][1]["code"] == "vip"


def test_member_tier_and_history(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    body = order_body(
        no,
        "O-1",
        lines=[
            {
                "sku": "M1",
                "name": "精华液",
                "category": "beauty",
                "quantity": 2,
                "unit_price": "499.00",
                "amount": "998.00",
            }
        ],
        payments=[{"method": "wechat", "amount": "998.00"}],
    )
    assert admin.post("/api/v1/orders", body).json()["tier"]["code"] == "gold"

    tier = admin.get(f"/api/v1/members/{no}/tier").json()
    assert tier["tier"] == {"level": 2, "code": "gold", "name": "金卡会员", "upgraded": False}
    assert tier["review_at"] == "2027-01-01T00:00:00+08:00"
    assert [(h["from_tier"], h["to_tier"], h["reason"]) for h in tier["history"]] == [
        ("regular", "gold", "upgrade")
    ]


def test_review_tiers_command(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    runner = CliRunner()
    body = order_body(
        member["member_no"],
        "O-1",
        lines=[{"sku": "M1", "quantity": 1, "unit_price": "900.00", "amount": "900.00"}],
        payments=[{"method": "wechat", "amount": "900.00"}],
    )
    assert admin.post("/api/v1/orders", body).json()["tier"]["code"] == "gold"
    clock.move_to(datetime.fromisoformat("2026-12-31T12:00:00+08:00"))
    nothing_due = runner.invoke(app, ["jobs", "review-tiers", "--as-of", "2026-12-31"])
    assert nothing_due.exit_code == 0, nothing_due.output
    assert admin.get(f"/api/v1/members/{member['member_no']}/tier").json()["tier"]["code"] == "gold"
    clock.move_to(datetime.fromisoformat("2027-01-01T12:00:00+08:00"))
    due = runner.invoke(app, ["jobs", "review-tiers", "--as-of", "2027-01-01"])
    assert due.exit_code == 0, due.output
    tier = admin.get(f"/api/v1/members/{member['member_no']}/tier").json()
    assert tier["tier"]["code"] == "silver"  # growth 900 misses gold's retention (3,000)
    assert tier["review_at"] == "2028-01-01T00:00:00+08:00"
    again = runner.invoke(app, ["jobs", "review-tiers", "--as-of", "2027-01-01"])
    assert again.exit_code == 0
    assert len(admin.get(f"/api/v1/members/{member['member_no']}/tier").json()["history"]) == 2
    assert runner.invoke(app, ["jobs", "review-tiers", "--as-of", "someday"]).exit_code == 2


def test_grant_by_hand_until_a_date_then_the_review_judges(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    no = member["member_no"]
    path = f"/api/v1/members/{no}/tier/grants"
    body = {"tier": "black", "until": "2027-03-31", "reason": "明星会员活动"}
    assert admin.post(path, body).json()["code"] == "idempotency_key_required"
    unknown = admin.post(path, {**body, "tier": "diamond"}, **{"Idempotency-Key": "g0"})
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_tier")

    granted = admin.post(path, body, **{"Idempotency-Key": "g1"})
    again = admin.post(path, body, **{"Idempotency-Key": "g1"})
    assert (granted.status_code, again.status_code) == (201, 200)
    assert granted.json()["code"] == "black"
    tier = admin.get(f"/api/v1/members/{no}/tier").json()
    assert tier["review_at"] == "2027-04-01T00:00:00+08:00"
    assert [(h["reason"], h["note"], h["actor"]) for h in tier["history"]] == [
        ("grant", "明星会员活动", "api:test-admin")
    ]

    runner = CliRunner()
    clock.move_to(datetime.fromisoformat("2027-04-01T12:00:00+08:00"))
    assert runner.invoke(app, ["jobs", "review-tiers", "--as-of", "2027-04-01"]).exit_code == 0
    assert admin.get(f"/api/v1/members/{no}/tier").json()["tier"]["code"] == "gold"  # one down


THREE_BY_THREE = {
    "tiers": [
        {"code": "regular", "name": "普通会员"},
        {"code": "silver", "name": "银卡会员", "qualify": {"invitees_purchased_at_least": 3}},
        {
            "code": "gold",
            "name": "金卡会员",
            "qualify": {"invitees_reached_at_least": 3, "tier": "silver"},
        },
    ]
}


def test_three_by_three_invitations(admin: Api, member: dict[str, Any]) -> None:
    """三三晋制: 3 invitees who bought make silver; 3 invitees at silver make gold."""
    assert (
        admin.client.put("/api/v1/tiers", json=THREE_BY_THREE, headers=admin.headers).status_code
        == 200
    )
    referrer = member["member_no"]
    invitees = [
        admin.post(
            "/api/v1/members", {"phone": f"1390013900{n}", "referrer_member_no": referrer}
        ).json()["member_no"]
        for n in range(3)
    ]
    grandchildren = 0
    for n, invitee in enumerate(invitees):
        admin.post("/api/v1/orders", order_body(invitee, f"I-{n}"))
    assert admin.get(f"/api/v1/members/{referrer}/tier").json()["tier"]["code"] == "silver"
    for n, invitee in enumerate(invitees):  # each invitee brings three buyers of their own
        for k in range(3):
            grandchildren += 1
            child = admin.post(
                "/api/v1/members",
                {"phone": f"137{grandchildren:08d}", "referrer_member_no": invitee},
            ).json()["member_no"]
            admin.post("/api/v1/orders", order_body(child, f"G-{n}-{k}"))
        assert admin.get(f"/api/v1/members/{invitee}/tier").json()["tier"]["code"] == "silver"
    history = admin.get(f"/api/v1/members/{referrer}/tier").json()
    assert history["tier"]["code"] == "gold"
    assert [(h["from_tier"], h["to_tier"]) for h in history["history"]] == [
        ("silver", "gold"),
        ("regular", "silver"),
    ]


def test_invitation_conditions_cannot_form_a_cycle(admin: Api) -> None:
    cyclic = copy.deepcopy(THREE_BY_THREE)
    cyclic["tiers"][2]["qualify"] = {"invitees_reached_at_least": 3, "tier": "gold"}
    response = admin.client.put("/api/v1/tiers", json=cyclic, headers=admin.headers)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_program_settings")
    assert "须指定更低的等级" in response.json()["detail"]
