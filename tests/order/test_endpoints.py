"""Orders through the API: earning, paying with points, refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from memberkit.db import Database
from tests.conftest import set_rules
from tests.rest import Api, make_key, order_body, table_contents


def line(
    amount: str, quantity: int = 1, category: str = "coffee", sku: str = "A1"
) -> dict[str, Any]:
    from decimal import Decimal

    unit = str((Decimal(amount) / quantity).quantize(Decimal("0.01")))
    return {
        "sku": sku,
        "name": "x",
        "category": category,
        "quantity": quantity,
        "unit_price": unit,
        "amount": amount,
    }


def post(admin: Api, member_no: str, external_id: str, amount: str, **extra: Any) -> Any:
    body = order_body(
        member_no,
        external_id,
        lines=[line(amount)],
        payments=[{"method": "wechat", "amount": amount}],
    )
    body.update(extra)
    return admin.post("/api/v1/orders", body)


def test_member_found_by_phone_and_qr_token(admin: Api, member: dict[str, Any]) -> None:
    by_phone = admin.post(
        "/api/v1/orders",
        {
            **order_body(None, "P-1"),
            "member_no": None,  # type: ignore[arg-type]
            "phone": "138 0013 8000",
        },
    )
    assert by_phone.status_code == 201, by_phone.text
    assert by_phone.json()["member_no"] == member["member_no"]

    token = admin.post(f"/api/v1/members/{member['member_no']}/qr-token", {}).json()["qr_token"]
    by_qr = admin.post(
        "/api/v1/orders",
        {
            **order_body(None, "P-2"),
            "member_no": None,  # type: ignore[arg-type]
            "qr_token": token,
        },
    )
    assert by_qr.status_code == 201, by_qr.text
    assert by_qr.json()["points_balance"] == 120


def test_same_external_id_with_other_content_is_409(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    assert post(admin, member["member_no"], "X-1", "60.00").status_code == 201
    before = table_contents(database)

    response = post(admin, member["member_no"], "X-1", "61.00")

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert table_contents(database) == before


def test_paying_with_points_burns_them_and_earns_on_the_rest(
    admin: Api, member: dict[str, Any]
) -> None:
    no = member["member_no"]
    first = post(admin, no, "E-1", "1000.00").json()
    # Spending 1,000.00 in a day (>= 800.00) reaches gold (金卡会员, points × 1.5) at once, in
    # the order's own response.
    assert first["points_balance"] == 1000
    assert first["tier"] == {"level": 2, "code": "gold", "name": "金卡会员", "upgraded": True}

    body = order_body(
        no,
        "E-2",
        lines=[line("100.00")],
        payments=[{"method": "points", "points": 500}, {"method": "alipay", "amount": "95.00"}],
    )
    response = admin.post("/api/v1/orders", body)

    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["points_paid"], result["points_earned"], result["growth_earned"]) == (
        500,
        142,
        95,
    )
    assert result["eligible_amount"] == "95.00"
    assert result["points_balance"] == 1000 - 500 + 142
    assert result["tier"]["upgraded"] is False
    kinds = [item["kind"] for item in admin.get(f"/api/v1/members/{no}/ledger").json()["items"]]
    assert kinds == ["earn", "redeem", "earn"]


def test_too_few_points_refuses_the_whole_order(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    post(admin, no, "E-1", "3.00")
    before = table_contents(database)

    body = order_body(
        no,
        "E-2",
        lines=[line("10.00")],
        payments=[{"method": "points", "points": 500}, {"method": "cash", "amount": "5.00"}],
    )
    response = admin.post("/api/v1/orders", body, **{"Accept-Language": "zh-CN"})

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_points"
    assert response.headers["content-type"] == "application/problem+json"
    assert "500" in response.json()["detail"] and "3" in response.json()["detail"]
    assert table_contents(database) == before


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"member_no": "800000000000"}, 404, "member_not_found"),
        ({"store_code": "NOPE"}, 404, "store_not_found"),
        ({"lines": [line("60.00") | {"amount": "-60.00"}]}, 422, "validation_error"),
        ({"lines": [line("60.00") | {"amount": "59.00"}]}, 422, "lines_mismatch"),
        ({"payments": [{"method": "wechat", "amount": "50.00"}]}, 422, "payments_mismatch"),
        ({"payments": [{"method": "wechat", "amount": "60.001"}]}, 422, "validation_error"),
        ({"payments": [{"method": "wechat", "amount": 60.5}]}, 422, "validation_error"),
        ({"payments": [{"method": "bitcoin", "amount": "60.00"}]}, 422, "validation_error"),
        ({"payments": [{"method": "points"}]}, 422, "invalid_order"),
        ({"payments": [{"method": "cash", "amount": "60.00", "points": 5}]}, 422, "invalid_order"),
        ({"occurred_at": "2026-11-22T10:00:00"}, 422, "validation_error"),
        ({"occurred_at": "2999-01-01T10:00:00+08:00"}, 422, "occurred_at_in_future"),
        ({"occurred_at": "2026-11-23T12:30:00+08:00"}, 422, "occurred_at_in_future"),
        ({"occurred_at": "2026-10-24T11:00:00+08:00"}, 422, "occurred_at_too_old"),
        ({"lines": []}, 422, "validation_error"),
        ({"unexpected": 1}, 422, "validation_error"),
        ({"phone": "13800138000"}, 422, "validation_error"),
    ],
)
def test_bad_orders_are_refused_and_write_nothing(
    admin: Api,
    member: dict[str, Any],
    database: Database,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = table_contents(database)

    body = order_body(member["member_no"], "BAD-1")
    body.update(change)
    response = admin.post("/api/v1/orders", body)

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert table_contents(database) == before


def test_frozen_member_neither_earns_nor_spends(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    frozen = admin.patch(f"/api/v1/members/{member['member_no']}", {"status": "frozen"})
    assert frozen.status_code == 200 and frozen.json()["status"] == "frozen"
    before = table_contents(database)

    response = admin.post(
        "/api/v1/orders", order_body(member["member_no"]), **{"Accept-Language": "en"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "member_inactive"
    assert (
        response.json()["detail"]
        == f"Member {member['member_no']} is frozen: no earning, spending or recharging."
    )
    assert table_contents(database) == before


def test_earning_rules_apply(admin: Api, member: dict[str, Any], database: Database) -> None:
    set_rules(
        database,
        earning_rules={
            "points_per_unit": "1",
            "rounding": "floor",
            "min_order_amount": "10.00",
            "excluded_categories": ["gift_card"],
            "category_multipliers": {"beauty": "1.5"},
            "store_multipliers": {"SH001": "2"},
            "date_multipliers": [{"name": "会员日", "weekday": 3, "multiplier": "2"}],
        },
    )
    no = member["member_no"]
    # Sunday: beauty 1.5 × store 2 on 100.00 -> 300; gift card earns nothing.
    body = order_body(
        no,
        "R-1",
        lines=[line("100.00", category="beauty"), line("500.00", category="gift_card", sku="G1")],
        payments=[{"method": "card", "amount": "600.00"}],
    )
    assert admin.post("/api/v1/orders", body).json()["points_earned"] == 300
    # Wednesday 2026-11-18, member day: coffee 33.33 × store 2 × day 2 = 133.32 -> 133.
    wednesday = order_body(
        no,
        "R-2",
        occurred_at="2026-11-18T09:00:00+08:00",
        lines=[line("33.33")],
        payments=[{"method": "cash", "amount": "33.33"}],
    )
    assert admin.post("/api/v1/orders", wednesday).json()["points_earned"] == 133
    # Below the minimum order amount: no points, growth still counts.
    small = admin.post(
        "/api/v1/orders",
        order_body(
            no, "R-3", lines=[line("9.99")], payments=[{"method": "cash", "amount": "9.99"}]
        ),
    )
    assert (small.json()["points_earned"], small.json()["growth_earned"]) == (0, 9)


def test_store_bound_key_acts_only_for_its_store(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京三里屯店", "city": "北京"})
    pos = Api(client, make_key(database, "pos", store="SH001"))

    other = pos.post("/api/v1/orders", order_body(member["member_no"], "S-1", store_code="BJ001"))
    assert other.status_code == 403
    assert other.json()["code"] == "store_mismatch"

    without_store = order_body(member["member_no"], "S-2")
    del without_store["store_code"]
    assert pos.post("/api/v1/orders", without_store).status_code == 201


def test_scopes(client: Any, admin: Api, member: dict[str, Any], database: Database) -> None:
    read = Api(client, make_key(database, "read"))
    assert read.get(f"/api/v1/members/{member['member_no']}").status_code == 200
    refused = read.post("/api/v1/orders", order_body(member["member_no"]))
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    pos = Api(client, make_key(database, "pos"))
    assert pos.post("/api/v1/stores", {"code": "X1", "name": "x"}).status_code == 403
    assert (
        pos.patch(f"/api/v1/members/{member['member_no']}", {"status": "closed"}).status_code == 403
    )
    anonymous = client.get("/api/v1/stores")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    wrong = client.get("/api/v1/stores", headers={"Authorization": "Bearer mk_nope"})
    assert wrong.status_code == 401
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("amount", ["123.00", "10.50", "0.01"])
def test_an_order_reads_back_with_the_amounts_it_was_posted_with(
    admin: Api, member: dict[str, Any], amount: str
) -> None:
    # given an order of any amount, with a slash in its external id
    body = order_body(
        member["member_no"],
        "POS/SH001/1",
        lines=[{"sku": "A1", "quantity": 1, "unit_price": amount, "amount": amount}],
        payments=[{"method": "wechat", "amount": amount}],
    )
    posted = admin.post("/api/v1/orders", body)
    assert posted.status_code == 201, posted.text

    # when it is read back by path or by query
    by_query = admin.get("/api/v1/orders", external_id="POS/SH001/1")
    assert by_query.status_code == 200, by_query.text

    # then it shows what was posted, refund fields included
    read = by_query.json()
    assert (read["total_amount"], read["eligible_amount"]) == (amount, amount)
    assert {k: read[k] for k in posted.json()} == {**posted.json(), "tier": read["tier"]}
    assert read["status"] == "paid"
