"""The POS integrators' contract, exactly as the issue gives it."""

from __future__ import annotations

from typing import Any

from tests.rest import Api, order_body


def test_contract_example(admin: Api, member: dict[str, Any]) -> None:
    # given the member of the contract
    assert member["status"] == "active"
    assert member["points_balance"] == 0
    assert len(member["member_no"]) == 12

    # when the contract's order is posted
    created = admin.post("/api/v1/orders", order_body(member["member_no"]))

    # then it earns 60 points and 60 growth
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["points_earned"], body["growth_earned"], body["points_balance"]) == (60, 60, 60)
    assert body["total_amount"] == "60.00"
    assert body["occurred_at"] == "2026-11-22T10:00:00+08:00"

    # when it is posted again, the first response comes back with 200 and nothing changes
    again = admin.post("/api/v1/orders", order_body(member["member_no"]))
    assert again.status_code == 200
    assert again.json() == body
    assert admin.get(f"/api/v1/members/{member['member_no']}/points").json()["balance"] == 60

    # when half is refunded
    refund = admin.post(
        "/api/v1/refunds",
        {"external_id": "RF-1", "order_external_id": "POS-SH001-000123", "amount": "30.00"},
    )
    assert refund.status_code == 201, refund.text
    assert (refund.json()["points_reversed"], refund.json()["points_balance"]) == (30, 30)
    assert refund.json()["amount"] == "30.00"
