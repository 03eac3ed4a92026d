"""Refunds through the API: proportional claw-back, returned points, debt, refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from memberkit.db import Database
from memberkit.kit.time import iso, utcnow
from tests.rest import Api, order_body, table_contents


def coffee(
    quantity: int, unit: str, amount: str, sku: str = "A1", category: str = "coffee"
) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": sku,
        "category": category,
        "quantity": quantity,
        "unit_price": unit,
        "amount": amount,
    }


def test_refund_by_lines_takes_back_that_lines_share(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    body = order_body(
        no,
        "O-1",
        lines=[coffee(2, "30.00", "60.00"), coffee(1, "40.00", "40.00", sku="B1")],
        payments=[{"method": "wechat", "amount": "100.00"}],
    )
    assert admin.post("/api/v1/orders", body).json()["points_earned"] == 100

    first = admin.post(
        "/api/v1/refunds",
        {
            "external_id": "RF-1",
            "order_external_id": "O-1",
            "lines": [{"line_no": 1, "quantity": 1}],
        },
    )
    assert first.status_code == 201, first.text
    assert (
        first.json()["amount"],
        first.json()["points_reversed"],
        first.json()["points_balance"],
    ) == ("30.00", 30, 70)

    rest = admin.post("/api/v1/refunds", {"external_id": "RF-2", "order_external_id": "O-1"})
    assert rest.status_code == 201, rest.text
    assert (
        rest.json()["amount"],
        rest.json()["points_reversed"],
        rest.json()["points_balance"],
    ) == ("70.00", 70, 0)
    assert rest.json()["growth_balance"] == 0


def test_partial_refunds_of_uneven_amounts_add_up_exactly(
    admin: Api, member: dict[str, Any]
) -> None:
    no = member["member_no"]
    body = order_body(
        no,
        "O-1",
        lines=[coffee(1, "99.99", "99.99")],
        payments=[{"method": "cash", "amount": "99.99"}],
    )
    assert admin.post("/api/v1/orders", body).json()["points_earned"] == 99
    reversed_total = 0
    for n, amount in enumerate(("33.33", "33.33", "33.33")):
        response = admin.post(
            "/api/v1/refunds",
            {"external_id": f"RF-{n}", "order_external_id": "O-1", "amount": amount},
        )
        assert response.status_code == 201, response.text
        reversed_total += response.json()["points_reversed"]
    assert reversed_total == 99
    points = admin.get(f"/api/v1/members/{no}/points").json()
    assert points["balance"] == 0


def test_refund_returns_points_that_paid(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    admin.post(
        "/api/v1/orders",
        order_body(
            no,
            "O-0",
            lines=[coffee(1, "10.00", "10.00")],
            payments=[{"method": "cash", "amount": "10.00"}],
        ),
    )
    body = order_body(
        no,
        "O-1",
        lines=[coffee(1, "20.00", "20.00")],
        payments=[{"method": "points", "points": 10}, {"method": "wechat", "amount": "19.90"}],
    )
    paid = admin.post("/api/v1/orders", body).json()
    assert (paid["points_paid"], paid["points_earned"], paid["points_balance"]) == (10, 19, 19)

    refund = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"}
    ).json()

    assert (refund["points_reversed"], refund["points_returned"], refund["points_balance"]) == (
        19,
        10,
        10,
    )


def test_claw_back_of_spent_points_leaves_a_reported_debt(
    admin: Api, member: dict[str, Any]
) -> None:
    no = member["member_no"]
    admin.post(
        "/api/v1/orders",
        order_body(
            no,
            "O-1",
            lines=[coffee(1, "100.00", "100.00")],
            payments=[{"method": "cash", "amount": "100.00"}],
        ),
    )
    spend = order_body(
        no, "O-2", lines=[coffee(1, "1.00", "1.00")], payments=[{"method": "points", "points": 100}]
    )
    assert admin.post("/api/v1/orders", spend).json()["points_balance"] == 0

    refund = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"}
    ).json()
    assert (refund["points_balance"], refund["points_debt"]) == (-100, 100)

    # A later earning pays the debt off first.
    later = admin.post(
        "/api/v1/orders",
        order_body(
            no,
            "O-3",
            lines=[coffee(1, "150.00", "150.00")],
            payments=[{"method": "cash", "amount": "150.00"}],
        ),
    )
    assert later.json()["points_balance"] == 50
    points = admin.get(f"/api/v1/members/{no}/points").json()
    assert (points["balance"], points["debt"], [lot["remaining"] for lot in points["lots"]]) == (
        50,
        0,
        [50],
    )


def test_refund_repeat_and_refusals(admin: Api, member: dict[str, Any], database: Database) -> None:
    no = member["member_no"]
    admin.post("/api/v1/orders", order_body(no, "O-1"))
    first = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1", "amount": "10.00"}
    )
    again = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1", "amount": "10.00"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    before = table_contents(database)

    cases = [
        (
            {"external_id": "RF-1", "order_external_id": "O-1", "amount": "11.00"},
            409,
            "idempotency_conflict",
        ),
        (
            {"external_id": "RF-2", "order_external_id": "O-1", "amount": "50.01"},
            422,
            "refund_exceeds_order",
        ),
        ({"external_id": "RF-2", "order_external_id": "NOPE"}, 404, "order_not_found"),
        (
            {"external_id": "RF-2", "order_external_id": "O-1", "amount": "0.00"},
            422,
            "invalid_refund",
        ),
        (
            {"external_id": "RF-2", "order_external_id": "O-1", "amount": "-1.00"},
            422,
            "validation_error",
        ),
        (
            {
                "external_id": "RF-2",
                "order_external_id": "O-1",
                "lines": [{"line_no": 2, "quantity": 1}],
            },
            422,
            "invalid_refund",
        ),
        (
            {
                "external_id": "RF-2",
                "order_external_id": "O-1",
                "lines": [{"line_no": 1, "quantity": 3}],
            },
            422,
            "refund_exceeds_order",
        ),
        (
            {
                "external_id": "RF-2",
                "order_external_id": "O-1",
                "amount": "1.00",
                "lines": [{"line_no": 1, "quantity": 1}],
            },
            422,
            "invalid_refund",
        ),
    ]
    for body, status, code in cases:
        response = admin.post("/api/v1/refunds", body)
        assert (response.status_code, response.json().get("code")) == (status, code), (
            body,
            response.text,
        )
    assert table_contents(database) == before

    assert (
        admin.post(
            "/api/v1/refunds", {"external_id": "RF-3", "order_external_id": "O-1"}
        ).status_code
        == 201
    )
    nothing_left = admin.post(
        "/api/v1/refunds", {"external_id": "RF-4", "order_external_id": "O-1"}
    )
    assert (nothing_left.status_code, nothing_left.json()["code"]) == (422, "refund_exceeds_order")


def test_a_refund_by_amount_larger_than_what_is_left_says_how_much_is_left(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order of 60.00 of which 10.00 was refunded
    no = member["member_no"]
    at = iso(utcnow() - timedelta(hours=2))
    assert admin.post("/api/v1/orders", order_body(no, "O-1", occurred_at=at)).status_code == 201
    body = {"external_id": "RF-1", "order_external_id": "O-1", "amount": "10.00"}
    assert admin.post("/api/v1/refunds", body).status_code == 201
    before = table_contents(database)

    # when 50.01 more is asked back
    too_much = {"external_id": "RF-2", "order_external_id": "O-1", "amount": "50.01"}
    refused = admin.post("/api/v1/refunds", too_much, **{"Accept-Language": "en"})
    in_chinese = admin.post("/api/v1/refunds", too_much)

    # then it is refused, saying 50.00 is left, and nothing changed
    assert (refused.status_code, refused.json()["code"], refused.json()["detail"]) == (
        422,
        "refund_exceeds_order",
        "The refund is larger than what is left of the order: "
        "¥50.01 asked, but only ¥50.00 is left to refund",
    )
    assert (
        in_chinese.json()["detail"] == "退货超出订单剩余可退部分：申请退 ¥50.01，仅剩 ¥50.00 可退"
    )
    assert table_contents(database) == before
    assert admin.post("/api/v1/refunds", {**too_much, "amount": "50.00"}).status_code == 201


def test_a_member_in_debt_is_told_they_have_none_available_and_what_they_owe(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a member who spent the 60 points an order earned, then returned that order
    no = member["member_no"]
    at = iso(utcnow() - timedelta(hours=2))
    assert admin.post("/api/v1/orders", order_body(no, "O-1", occurred_at=at)).status_code == 201
    spend = order_body(
        no,
        "O-2",
        occurred_at=at,
        lines=[coffee(1, "0.60", "0.60")],
        payments=[{"method": "points", "points": 60}],
    )
    assert admin.post("/api/v1/orders", spend).status_code == 201
    returned = admin.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"})
    assert returned.json()["points_debt"] == 60
    before = table_contents(database)

    # when they pay 1.00 with 100 points
    pay = order_body(
        no,
        "O-3",
        occurred_at=at,
        lines=[coffee(1, "1.00", "1.00")],
        payments=[{"method": "points", "points": 100}],
    )
    refused = admin.post("/api/v1/orders", pay, **{"Accept-Language": "en"})
    in_chinese = admin.post("/api/v1/orders", pay)

    # then they are told 0 are available (not -60) and what they owe; nothing changed
    assert (refused.status_code, refused.json()["code"], refused.json()["detail"]) == (
        409,
        "insufficient_points",
        "Not enough points: 100 needed, 0 available (the member owes 60 points).",
    )
    assert in_chinese.json()["detail"] == "积分不足：需要 100，可用 0（该会员欠 60 积分）。"
    assert table_contents(database) == before


def test_an_order_read_back_shows_what_its_refunds_took_back_and_the_members_tier(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a gold member's order of 100.00, paid 95.00 in cash and 5.00 with 500 points
    no = member["member_no"]
    at = iso(utcnow() - timedelta(hours=2))
    big = order_body(
        no,
        "O-0",
        occurred_at=at,
        lines=[coffee(1, "900.00", "900.00", sku="G1", category="gift")],
        payments=[{"method": "cash", "amount": "900.00"}],
    )
    assert admin.post("/api/v1/orders", big).json()["tier"]["code"] == "gold"
    body = order_body(
        no,
        "O-1",
        occurred_at=at,
        lines=[coffee(2, "30.00", "60.00"), coffee(1, "40.00", "40.00", sku="B1")],
        payments=[{"method": "cash", "amount": "95.00"}, {"method": "points", "points": 500}],
    )
    posted = admin.post("/api/v1/orders", body)
    assert posted.status_code == 201, posted.text
    gold = {"level": 2, "code": "gold", "name": "金卡会员", "upgraded": False}

    # when it is read back before any refund, then it is paid, nothing came back
    fresh = admin.get("/api/v1/orders/O-1").json()
    assert {k: v for k, v in fresh.items() if k not in posted.json()} == {
        "status": "paid",
        "refunded_amount": "0.00",
        "points_reversed": 0,
        "points_already_expired": 0,
        "growth_reversed": 0,
        "points_returned": 0,
        "wallet_principal_returned": "0.00",
        "wallet_bonus_returned": "0.00",
        "refunds": [],
    }
    assert fresh["tier"] == gold

    # when one coffee comes back, then it is partially refunded, that refund listed
    first = admin.post(
        "/api/v1/refunds",
        {
            "external_id": "RF-1",
            "order_external_id": "O-1",
            "lines": [{"line_no": 1, "quantity": 1}],
            "occurred_at": iso(utcnow() - timedelta(hours=1)),
        },
    ).json()
    partly = admin.get("/api/v1/orders/O-1").json()
    assert (partly["status"], partly["refunded_amount"]) == ("partially_refunded", "30.00")
    assert (
        (partly["points_reversed"], partly["points_returned"])
        == (
            first["points_reversed"],
            first["points_returned"],
        )
        == (43, 150)
    )

    # when the rest comes back, then it is refunded, both refunds listed in order
    rest = admin.post("/api/v1/refunds", {"external_id": "RF-2", "order_external_id": "O-1"})
    second = rest.json()
    done = admin.get("/api/v1/orders/O-1").json()
    assert {k: done[k] for k in ("status", "refunded_amount", "points_reversed")} == {
        "status": "refunded",
        "refunded_amount": "100.00",
        "points_reversed": posted.json()["points_earned"],
    }
    assert (done["growth_reversed"], done["points_returned"]) == (
        posted.json()["growth_earned"],
        500,
    )
    assert [
        (r["external_id"], r["amount"], r["points_reversed"], r["points_returned"])
        for r in done["refunds"]
    ] == [
        ("RF-1", "30.00", first["points_reversed"], 150),
        ("RF-2", "70.00", second["points_reversed"], 350),
    ]
    assert done["refunds"][0]["refund_id"] == first["refund_id"]
    assert done["points_balance"] == second["points_balance"]
    assert done["tier"] == gold  # the gift order still holds the tier
