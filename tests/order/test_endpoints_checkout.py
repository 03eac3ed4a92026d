"""The checkout over REST: the preview, an order with coupons, its refund, store-bound keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from memberkit.db import Database
from memberkit.kit.time import iso, utcnow
from memberkit.member.models import Member
from memberkit.order.schemas import OrderIn
from memberkit.program import service as program_service
from tests.coupon.factories import grant_tier_discount, make_coupon, make_template
from tests.rest import Api, make_key, table_contents

LINES = [
    {
        "sku": "A1",
        "name": "拿铁",
        "category": "coffee",
        "quantity": 2,
        "unit_price": "30.00",
        "amount": "60.00",
    },
    {
        "sku": "B1",
        "name": "蛋糕",
        "category": "cake",
        "quantity": 1,
        "unit_price": "33.33",
        "amount": "33.33",
    },
]


def coupon(database: Database, member_no: str, **terms: Any) -> str:
    """A coupon of a fresh template for the member (``coupon``: overrides of the coupon)."""
    overrides = terms.pop("coupon", {})
    with database.session_scope() as session:
        program = program_service.get(session)
        holder = session.scalars(select(Member).where(Member.member_no == member_no)).one()
        template = make_template(session, program, **terms)
        return make_coupon(session, template, holder, **overrides).code


#: When the carts are bought: an hour before the tests' clock (coupons are valid from a day ago).
AT = "2026-11-23T11:00:00+08:00"
EARLIER = "2026-11-23T10:00:00+08:00"


def cart(member_no: str, **overrides: Any) -> dict[str, Any]:
    return {
        "member_no": member_no,
        "store_code": "SH001",
        "lines": LINES,
        "occurred_at": AT,
        **overrides,
    }


@pytest.fixture
def tier_discount(database: Database) -> None:
    with database.session_scope() as session:
        grant_tier_discount(session, program_service.get(session), rate=9500)


def test_the_preview_picks_the_best_coupons_says_why_others_do_not_fit_and_writes_nothing(
    admin: Api, member: dict[str, Any], database: Database, tier_discount: None
) -> None:
    # given the member holds a ¥10.00 voucher, a ¥5.00 one, an expired one and one for tea
    no = member["member_no"]
    ten = coupon(database, no, off_minor=1000, name="十元券")
    coupon(database, no, off_minor=500)
    expired = coupon(
        database, no, off_minor=2000, coupon={"valid_until": utcnow() - timedelta(days=1)}
    )
    tea = coupon(database, no, off_minor=2000, scope={"categories": ["tea"]})
    before = table_contents(database)

    # when the till previews the cart naming no coupon, in Chinese
    seen = admin.post("/api/v1/checkout/preview", cart(no), **{"Accept-Language": "zh-CN"})

    # then the ¥10.00 voucher is chosen with the tier discount, and nothing was written
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert {key: body[key] for key in ("best", "tier_rate_bp", "lines_amount")} == {
        "best": True,
        "tier_rate_bp": 9500,
        "lines_amount": "93.33",
    }
    assert (body["tier_discount"], body["coupon_discount"], body["due_amount"]) == (
        "4.66",
        "10.00",
        "78.67",
    )
    assert body["coupons"] == [
        {"code": ten, "name": "十元券", "discount": "10.00", "lines": {"1": "6.43", "2": "3.57"}}
    ]
    assert body["line_discounts"] == [
        {
            "line_no": 1,
            "amount": "60.00",
            "tier_discount": "3.00",
            "coupon_discount": "6.43",
            "due": "50.57",
        },
        {
            "line_no": 2,
            "amount": "33.33",
            "tier_discount": "1.66",
            "coupon_discount": "3.57",
            "due": "28.10",
        },
    ]
    offered = {o["code"]: (o["fits"], o["chosen"], o["reason_code"]) for o in body["offered"]}
    assert offered[ten] == (True, True, None)
    assert offered[expired] == (False, False, "coupon_expired")
    assert offered[tea] == (False, False, "coupon_no_eligible_line")
    reasons = {o["code"]: o["reason"] for o in body["offered"]}
    assert reasons[expired] == f"优惠券 {expired} 已过期。"
    assert (body["left_to_pay"], body["points_earned"], body["growth_earned"]) == (
        "78.67",
        78,
        78,
    )
    assert table_contents(database) == before


@pytest.mark.parametrize(
    ("terms", "points", "wallet"),
    [
        ([], 0, "0"),
        ([{"off_minor": 1000}], 0, "0"),
        (
            [
                {"off_minor": 700, "with_coupons": True},
                {"kind": "percent_off", "percent_bp": 1500, "with_coupons": True, "cap_minor": 800},
            ],
            0,
            "0",
        ),
        ([{"off_minor": 1000, "with_tier_discount": False}], 0, "0"),
        ([{"kind": "amount_off", "threshold_minor": 8000, "off_minor": 1500}], 100, "0"),
        ([{"off_minor": 1000}], 0, "20.00"),
    ],
)
def test_the_order_does_what_its_preview_said(
    admin: Api,
    member: dict[str, Any],
    database: Database,
    tier_discount: None,
    terms: list[dict[str, Any]],
    points: int,
    wallet: str,
) -> None:
    # given points and stored value to pay with, and the coupons of the case
    no = member["member_no"]
    admin.post(
        "/api/v1/orders",
        {
            **cart(no),
            "external_id": "EARN",
            "lines": [{"sku": "X", "quantity": 1, "unit_price": "200.00", "amount": "200.00"}],
            "occurred_at": EARLIER,
            "payments": [{"method": "cash", "amount": "190.00"}],
        },
    )
    recharged = admin.post(
        "/api/v1/members/" + no + "/wallet/recharges",
        {"external_id": "RC-1", "amount": "50.00", "method": "cash", "occurred_at": EARLIER},
    )
    assert recharged.status_code == 201, recharged.text
    codes = [coupon(database, no, **term) for term in terms]
    asked = {"coupons": codes, "points": points, "wallet": wallet}

    # when the cart is previewed, then posted with what the preview said is left to pay
    seen = admin.post("/api/v1/checkout/preview", cart(no, **asked)).json()
    payments: list[dict[str, Any]] = []
    if points:
        payments.append({"method": "points", "points": points})
    if wallet != "0":
        payments.append({"method": "wallet", "amount": wallet})
    payments.append({"method": "wechat", "amount": seen["left_to_pay"]})
    posted = admin.post(
        "/api/v1/orders",
        {
            **cart(no, coupons=codes),
            "external_id": "O-1",
            "occurred_at": AT,
            "payments": payments,
        },
    )

    # then the order took off, cost and earned what the preview said
    assert posted.status_code == 201, posted.text
    order = posted.json()
    same = ("tier_discount", "coupon_discount", "due_amount", "coupons", "line_discounts")
    assert {k: order[k] for k in same} == {k: seen[k] for k in same}
    assert (order["points_earned"], order["growth_earned"], order["points_paid"]) == (
        seen["points_earned"],
        seen["growth_earned"],
        points,
    )
    read = admin.get("/api/v1/orders/O-1").json()
    assert {k: read[k] for k in same} == {k: seen[k] for k in same}


def test_a_named_coupon_that_does_not_fit_is_refused_by_the_preview_as_by_the_order(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    code = coupon(database, no, min_spend_minor=100_000)

    seen = admin.post("/api/v1/checkout/preview", cart(no, coupons=[code]))
    posted = admin.post(
        "/api/v1/orders",
        {
            **cart(no, coupons=[code]),
            "external_id": "O-1",
            "occurred_at": AT,
            "payments": [{"method": "cash", "amount": "93.33"}],
        },
        **{"Accept-Language": "en"},
    )

    assert (seen.status_code, seen.json()["code"]) == (409, "coupon_below_minimum")
    assert (posted.status_code, posted.json()["code"]) == (409, "coupon_below_minimum")
    assert posted.json()["detail"] == (
        f"Coupon {code}: the items it applies to do not reach its minimum spend."
    )


def test_a_store_bound_key_previews_for_its_own_store_only(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    bound = Api(client, make_key(database, "pos", "SH001"))

    other = bound.post("/api/v1/checkout/preview", cart(member["member_no"], store_code="SH002"))
    own = bound.post("/api/v1/checkout/preview", cart(member["member_no"]))

    assert (other.status_code, other.json()["code"]) == (403, "store_mismatch")
    assert (own.status_code, own.json()["due_amount"]) == (200, "93.33")


def test_an_order_with_a_coupon_then_its_refund_over_rest(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    code = coupon(database, no, off_minor=1000)
    posted = admin.post(
        "/api/v1/orders",
        {
            **cart(no, coupons=[code.lower()]),
            "external_id": "O-1",
            "occurred_at": AT,
            "payments": [{"method": "cash", "amount": "83.33"}],
        },
    )
    assert posted.status_code == 201, posted.text
    assert (posted.json()["total_amount"], posted.json()["lines_amount"]) == ("83.33", "93.33")

    refunded = admin.post("/api/v1/refunds", {"external_id": "R-1", "order_external_id": "O-1"})

    assert refunded.status_code == 201, refunded.text
    body = refunded.json()
    assert (body["amount"], body["coupon_discount_taken_back"], body["coupons_returned"]) == (
        "83.33",
        "10.00",
        [code],
    )
    assert admin.get("/api/v1/orders/O-1").json()["status"] == "refunded"


def test_an_order_naming_no_coupon_is_fingerprinted_as_before_and_coupons_count(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # an order naming no coupon dumps without the field: a retry across the upgrade replays
    body = {
        **cart(member["member_no"]),
        "external_id": "O-1",
        "payments": [{"method": "cash", "amount": "93.33"}],
    }
    assert "coupons" not in OrderIn.model_validate(body).model_dump(mode="json")
    first = admin.post("/api/v1/orders", body)
    again = admin.post("/api/v1/orders", {**body, "coupons": []})
    assert (first.status_code, again.status_code) == (201, 200)

    # the same external id naming a coupon is another request
    code = coupon(database, member["member_no"], off_minor=1000)
    other = admin.post(
        "/api/v1/orders",
        {**body, "coupons": [code], "payments": [{"method": "cash", "amount": "83.33"}]},
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")


def test_a_back_dated_order_does_not_revive_a_coupon_that_has_lapsed(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a coupon that lapsed an hour ago, valid until then
    no = member["member_no"]
    lapsed = coupon(
        database,
        no,
        off_minor=1000,
        coupon={
            "valid_from": utcnow() - timedelta(days=5),
            "valid_until": utcnow() - timedelta(hours=1),
        },
    )
    before = table_contents(database)

    # when an order dated two days back (within the back-dating bound) names it
    back = iso(utcnow() - timedelta(days=2))
    body = {
        **cart(no, coupons=[lapsed]),
        "external_id": "O-BACK",
        "occurred_at": back,
        "payments": [{"method": "cash", "amount": "83.33"}],
    }
    refused = admin.post("/api/v1/orders", body)

    # then it is refused as expired, and nothing changed; the preview says the same
    assert (refused.status_code, refused.json()["code"]) == (409, "coupon_expired"), refused.text
    assert table_contents(database) == before
    seen = admin.post("/api/v1/checkout/preview", cart(no, occurred_at=back))
    offered = {o["code"]: o["reason_code"] for o in seen.json()["offered"]}
    assert offered[lapsed] == "coupon_expired"


def test_the_preview_says_a_spent_budget_as_the_order_would(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a ¥10.00 voucher whose campaign has ¥5.00 of its budget left
    no = member["member_no"]
    voucher = coupon(database, no, off_minor=1000, budget_minor=5000, discount_used_minor=4500)

    # when the cart is previewed, choosing the best, and with the voucher named
    best = admin.post("/api/v1/checkout/preview", cart(no))
    named = admin.post("/api/v1/checkout/preview", cart(no, coupons=[voucher]))

    # then the voucher is not chosen and says why; named, it is refused as the order is
    assert best.status_code == 200, best.text
    offered = {
        o["code"]: (o["fits"], o["chosen"], o["reason_code"]) for o in best.json()["offered"]
    }
    assert offered[voucher] == (False, False, "coupon_budget_spent")
    assert (named.status_code, named.json()["code"]) == (409, "coupon_budget_spent")
    body = {
        **cart(no, coupons=[voucher]),
        "external_id": "O-B",
        "payments": [{"method": "cash", "amount": "83.33"}],
    }
    ordered = admin.post("/api/v1/orders", body)
    assert (ordered.status_code, ordered.json()["code"]) == (409, "coupon_budget_spent")
