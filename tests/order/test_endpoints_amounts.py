"""What one order may cost: more than nothing, and no more than the program's plausibility cap."""

from __future__ import annotations

import json
from typing import Any

import pytest

from memberkit.db import Database
from tests.rest import Api, make_key, order_body, table_contents


def priced(member_no: str, external_id: str, amount: str, **overrides: Any) -> dict[str, Any]:
    """An order of one line of ``amount``, paid by WeChat."""
    line = {"sku": "A1", "name": "x", "category": "coffee", "quantity": 1}
    return order_body(
        member_no,
        external_id,
        lines=[{**line, "unit_price": amount, "amount": amount}],
        payments=[{"method": "wechat", "amount": amount}],
        **overrides,
    )


def patch_earning(admin: Api, value: dict[str, Any]) -> Any:
    return admin.client.patch(
        "/api/v1/settings/earning",
        content=json.dumps(value),
        headers={**admin.headers, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (
            "en",
            "The order's amount ¥50,000.01 is more than one order may have (¥50,000.00); a "
            "merchant whose sales are larger raises the limit in the earning settings.",
        ),
        (
            "zh-CN",
            "订单金额 ¥50,000.01 超过单笔订单的上限（¥50,000.00）；如确有更大金额的订单，"
            "请在积分规则中调高上限。",
        ),
    ],
)
def test_an_order_above_the_cap_is_refused_in_the_callers_language_and_changes_nothing(
    admin: Api, member: dict[str, Any], database: Database, language: str, detail: str
) -> None:
    # given a program with the default cap (¥50,000.00)
    before = table_contents(database)

    # when a till posts an order of one cent more
    refused = admin.post(
        "/api/v1/orders",
        priced(member["member_no"], "BIG-1", "50000.01"),
        **{"Accept-Language": language},
    )

    # then it is refused, naming the cap, and nothing is kept (no order, no points, no key)
    assert (refused.status_code, refused.json()["code"]) == (422, "order_amount_implausible")
    assert refused.json()["detail"] == detail
    assert table_contents(database) == before


def test_an_order_of_exactly_the_cap_is_taken_and_a_raised_cap_takes_larger_ones(
    admin: Api, member: dict[str, Any]
) -> None:
    # an order of exactly the cap is taken
    at_cap = admin.post("/api/v1/orders", priced(member["member_no"], "CAP-1", "50000.00"))
    assert (at_cap.status_code, at_cap.json()["total_amount"]) == (201, "50000.00"), at_cap.text

    # when a merchant with larger tickets raises the cap
    raised = patch_earning(admin, {"max_order_amount": "200000"})
    assert (raised.status_code, raised.json()["max_order_amount"]) == (200, "200000.00")

    # then a larger order is taken, and one above the new cap is refused naming it
    larger = admin.post("/api/v1/orders", priced(member["member_no"], "CAP-2", "150000.00"))
    assert (larger.status_code, larger.json()["total_amount"]) == (201, "150000.00"), larger.text
    above = admin.post(
        "/api/v1/orders",
        priced(member["member_no"], "CAP-3", "200000.01"),
        **{"Accept-Language": "en"},
    )
    assert above.json()["code"] == "order_amount_implausible"
    assert "(¥200,000.00)" in above.json()["detail"]


def test_a_store_bound_till_is_held_to_the_cap_as_well(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a POS key bound to the store
    till = Api(admin.client, make_key(database, "pos", "SH001"))
    before = table_contents(database)

    # when it posts an order of a million yuan, then it is refused and nothing changes
    refused = till.post("/api/v1/orders", priced(member["member_no"], "MINT-1", "1000000.00"))
    assert (refused.status_code, refused.json()["code"]) == (422, "order_amount_implausible")
    assert table_contents(database) == before


def test_a_replay_returns_the_first_result_whatever_the_cap_became_since(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order of ¥40,000.00 posted under the default cap
    body = priced(member["member_no"], "REPLAY-1", "40000.00")
    first = admin.post("/api/v1/orders", body)
    assert first.status_code == 201, first.text

    # when the cap is lowered below it and the till repeats the request
    assert patch_earning(admin, {"max_order_amount": "30000.00"}).status_code == 200
    before = table_contents(database)
    again = admin.post("/api/v1/orders", body)

    # then the repeat gets the first answer and changes nothing
    assert (again.status_code, again.json()) == (200, first.json())
    assert table_contents(database) == before
    # and a new order of that size is refused
    new = admin.post("/api/v1/orders", priced(member["member_no"], "REPLAY-2", "40000.00"))
    assert new.json()["code"] == "order_amount_implausible"


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0.00",
        "-1.00",
        "100000000.01",
        "1.234",
        "many",
        True,
        None,
        [],
    ],
)
def test_the_cap_is_a_positive_amount_within_bounds(
    admin: Api, database: Database, value: Any
) -> None:
    # (a PUT of the whole section: in a PATCH, null resets the cap to its default)
    whole = {**admin.get("/api/v1/settings/earning").json(), "max_order_amount": value}
    before = table_contents(database)
    refused = admin.client.put(
        "/api/v1/settings/earning",
        content=json.dumps(whole),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert table_contents(database) == before


def test_the_cap_is_in_the_settings_schema_with_its_default(admin: Api) -> None:
    sections = {s["name"]: s for s in admin.get("/api/v1/settings").json()["sections"]}
    earning = sections["earning"]
    assert earning["schema"]["properties"]["max_order_amount"]["default"] == "50000.00"
    assert earning["value"]["max_order_amount"] == "50000.00"


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        (
            "en",
            "The order's amount is zero: an order must cost something (free items go on an "
            "order that does).",
        ),
        ("zh-CN", "订单金额为零：订单须有实付金额（赠品请与付费商品同单录入）。"),
    ],
)
def test_an_order_of_nothing_is_refused_and_changes_nothing(
    admin: Api, member: dict[str, Any], database: Database, language: str, detail: str
) -> None:
    # given an order whose every line costs nothing (and so no payment)
    body = order_body(
        member["member_no"],
        "ZERO-1",
        lines=[
            {
                "sku": "G1",
                "name": "赠品",
                "category": "gift",
                "quantity": 2,
                "unit_price": "0.00",
                "amount": "0.00",
            }
        ],
        payments=[{"method": "cash", "amount": "0.00"}],
    )
    before = table_contents(database)

    # when it is posted, then it is refused and nothing is kept
    refused = admin.post("/api/v1/orders", body, **{"Accept-Language": language})
    assert (refused.status_code, refused.json()["code"]) == (422, "order_amount_zero")
    assert refused.json()["detail"] == detail
    assert table_contents(database) == before


def test_a_free_gift_beside_a_paid_line_is_taken_and_can_be_returned(
    admin: Api, member: dict[str, Any]
) -> None:
    # given an order of a latte with a free gift
    body = order_body(
        member["member_no"],
        "GIFT-1",
        lines=[
            {
                "sku": "A1",
                "name": "拿铁",
                "category": "coffee",
                "quantity": 1,
                "unit_price": "30.00",
                "amount": "30.00",
            },
            {
                "sku": "G1",
                "name": "赠品",
                "category": "gift",
                "quantity": 1,
                "unit_price": "0.00",
                "amount": "0.00",
            },
        ],
        payments=[{"method": "wechat", "amount": "30.00"}],
    )
    posted = admin.post("/api/v1/orders", body)
    assert (posted.status_code, posted.json()["points_earned"]) == (201, 30), posted.text

    # when the gift alone is returned, then the refund is taken and gives nothing back
    refund = admin.post(
        "/api/v1/refunds",
        {
            "external_id": "RF-GIFT-1",
            "order_external_id": "GIFT-1",
            "lines": [{"line_no": 2, "quantity": 1}],
        },
    )
    assert refund.status_code == 201, refund.text
    assert (refund.json()["amount"], refund.json()["points_reversed"]) == ("0.00", 0)
