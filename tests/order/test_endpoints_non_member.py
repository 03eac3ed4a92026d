"""Non-member sales on the live API: stored, earning nothing, refundable, told as events."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.db import Database
from memberkit.events import OutboxEvent
from memberkit.order.models import Order, OrderLine, OrderPayment
from memberkit.store.models import Store
from tests.api.test_concurrent_requests import run_behind_a_lock
from tests.rest import Api, make_key, order_body, table_contents


def sale(external_id: str = "S-1", **overrides: Any) -> dict[str, Any]:
    """The contract's example order, naming no member."""
    body = order_body("", external_id, **overrides)
    del body["member_no"]
    return body


def _events(database: Database) -> list[tuple[str, int | None, dict[str, Any]]]:
    with database.session_scope() as session:
        return [
            (row.type, row.member_id, row.payload)
            for row in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))
        ]


def test_an_order_naming_no_member_is_a_sale_that_earns_nothing(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given no member named
    body = sale(
        payments=[
            {"method": "cash", "amount": "20.00"},
            {"method": "wechat", "amount": "40.00"},
        ]
    )
    # when it is posted
    response = admin.post("/api/v1/orders", body)
    # then it is stored with its lines and payments, earning nothing
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["member_no"], out["tier"], out["total_amount"], out["eligible_amount"]) == (
        None,
        None,
        "60.00",
        "0.00",
    )
    assert (out["points_earned"], out["growth_earned"], out["points_balance"]) == (0, 0, 0)
    with database.session_scope() as session:
        order = session.scalars(select(Order)).one()
        assert (order.member_id, order.source, order.total_minor, order.points_earned) == (
            None,
            "live",
            6000,
            0,
        )
        lines = session.scalars(select(OrderLine)).all()
        assert [(line.sku, line.quantity, line.amount_minor) for line in lines] == [("A1", 2, 6000)]
        payments = session.scalars(select(OrderPayment).order_by(OrderPayment.id)).all()
        assert [(p.method, p.amount_minor) for p in payments] == [("cash", 2000), ("wechat", 4000)]
        assert session.execute(select(OutboxEvent.id)).all() != []
    # and no ledger entry at all: nothing was earned by anyone
    tables = table_contents(database)
    assert tables["ledger_transactions"] == []
    assert tables["ledger_entries"] == []
    # and the outbox tells it with no member
    (posted,) = [e for e in _events(database) if e[0] == "order.posted"]
    assert posted[1] is None
    assert posted[2]["member_no"] is None
    assert (posted[2]["external_id"], posted[2]["total_amount"], posted[2]["tier"]) == (
        "S-1",
        "60.00",
        None,
    )
    # and it reads back
    read = admin.get("/api/v1/orders/S-1").json()
    assert (read["member_no"], read["status"], read["refunded_amount"]) == (None, "paid", "0.00")


def test_a_repeated_sale_is_a_replay_and_a_changed_one_a_conflict(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    first = admin.post("/api/v1/orders", sale())
    before = table_contents(database)
    again = admin.post("/api/v1/orders", sale())
    changed = admin.post("/api/v1/orders", sale(channel="online", store_code=None))
    assert (first.status_code, again.status_code, changed.status_code) == (201, 200, 409)
    assert again.json() == first.json()
    assert changed.json()["code"] == "idempotency_conflict"
    assert table_contents(database) == before


@pytest.mark.parametrize(
    ("overrides", "code", "english"),
    [
        (
            {"payments": [{"method": "points", "points": 6000}]},
            "non_member_points_payment",
            "A sale to no member cannot be paid with points: name the member.",
        ),
        (
            {"payments": [{"method": "wallet", "amount": "60.00"}]},
            "non_member_wallet_payment",
            "A sale to no member cannot be paid from a wallet: name the member.",
        ),
        (
            {"coupons": ["ABCD1234"]},
            "non_member_coupon",
            "A sale to no member cannot use coupons: name the member whose coupons they are.",
        ),
    ],
)
def test_a_sale_cannot_use_what_belongs_to_a_member_and_nothing_changes(
    admin: Api,
    store: dict[str, Any],
    database: Database,
    overrides: dict[str, Any],
    code: str,
    english: str,
) -> None:
    # given a sale paid with points, a wallet, or naming a coupon
    before = table_contents(database)
    # when it is posted in both languages
    en = admin.post("/api/v1/orders", sale(**overrides), **{"Accept-Language": "en"})
    zh = admin.post("/api/v1/orders", sale(**overrides), **{"Accept-Language": "zh-CN"})
    # then it is refused with a code, a message in each language, and nothing changed
    assert (en.status_code, zh.status_code) == (422, 422)
    assert (en.json()["code"], zh.json()["code"]) == (code, code)
    assert en.json()["detail"] == english
    assert zh.json()["detail"] not in ("", english)
    assert table_contents(database) == before


def test_a_sale_keeps_the_live_bounds_and_the_payment_check(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    before = table_contents(database)
    old = admin.post("/api/v1/orders", sale(occurred_at="2026-09-01T10:00:00+08:00"))
    future = admin.post("/api/v1/orders", sale(occurred_at="2027-01-01T10:00:00+08:00"))
    short = admin.post("/api/v1/orders", sale(payments=[{"method": "cash", "amount": "50.00"}]))
    two = admin.post("/api/v1/orders", {**sale(), "member_no": "x", "phone": "13800138000"})
    assert [r.json()["code"] for r in (old, future, short)] == [
        "occurred_at_too_old",
        "occurred_at_in_future",
        "payments_mismatch",
    ]
    assert two.status_code == 422
    assert table_contents(database) == before


def test_a_store_bound_key_books_a_sale_to_its_store_and_its_replays_are_its_own(
    client: TestClient, admin: Api, store: dict[str, Any], database: Database
) -> None:
    admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京店", "type": "direct"})
    shanghai = Api(client, make_key(database, "pos", "SH001"))
    beijing = Api(client, make_key(database, "pos", "BJ001"))
    unnamed = sale(store_code=None)
    posted = shanghai.post("/api/v1/orders", unnamed)
    before = table_contents(database)
    elsewhere = beijing.post("/api/v1/orders", unnamed)
    other_store = beijing.post("/api/v1/orders", sale("S-2"))
    assert posted.status_code == 201, posted.text
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (409, "idempotency_conflict")
    assert (other_store.status_code, other_store.json()["code"]) == (403, "store_mismatch")
    assert table_contents(database) == before
    with database.session_scope() as session:
        booked = select(Store.code).join(Order, Order.store_id == Store.id)
        assert session.scalars(booked).one() == "SH001"


def test_a_sale_is_refunded_in_parts_with_nothing_to_claw_back(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given a sale of 60.00
    assert admin.post("/api/v1/orders", sale()).status_code == 201
    # when 20.00 is refunded, then the rest
    part = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "S-1", "amount": "20.00"}
    )
    rest = admin.post("/api/v1/refunds", {"external_id": "RF-2", "order_external_id": "S-1"})
    # then both are refunds of no member, taking nothing back
    assert (part.status_code, rest.status_code) == (201, 201), part.text
    assert [(r.json()["amount"], r.json()["member_no"]) for r in (part, rest)] == [
        ("20.00", None),
        ("40.00", None),
    ]
    assert [r.json()["points_reversed"] + r.json()["points_debt"] for r in (part, rest)] == [0, 0]
    # and the order keeps what was refunded
    read = admin.get("/api/v1/orders/S-1").json()
    assert (read["status"], read["refunded_amount"], len(read["refunds"])) == (
        "refunded",
        "60.00",
        2,
    )
    # and nothing reached the ledger; the outbox tells both refunds with no member
    assert table_contents(database)["ledger_entries"] == []
    refunded = [e for e in _events(database) if e[0] == "order.refunded"]
    assert [(e[1], e[2]["member_no"], e[2]["amount"]) for e in refunded] == [
        (None, None, "20.00"),
        (None, None, "40.00"),
    ]
    # and a refund beyond what is left is refused, changing nothing
    before = table_contents(database)
    more = admin.post(
        "/api/v1/refunds", {"external_id": "RF-3", "order_external_id": "S-1", "amount": "1.00"}
    )
    assert (more.status_code, more.json()["code"]) == (422, "refund_exceeds_order")
    assert table_contents(database) == before


def test_a_preview_needs_a_member(admin: Api, store: dict[str, Any], database: Database) -> None:
    body = sale()
    del body["external_id"], body["payments"]
    before = table_contents(database)
    response = admin.post("/api/v1/checkout/preview", body)
    assert response.status_code == 422
    assert "member_no" in response.text
    assert table_contents(database) == before


@pytest.mark.postgres_only
def test_two_refunds_of_one_sale_at_once_are_serialized_by_the_orders_row(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given a sale of 60.00, its row locked in an open transaction
    assert admin.post("/api/v1/orders", sale()).status_code == 201

    def hold(session: Any) -> None:
        session.execute(select(Order.id).where(Order.external_id == "S-1").with_for_update())

    # when two refunds of 40.00 each come meanwhile
    responses = run_behind_a_lock(
        database,
        hold,
        2,
        lambda n: admin.post(
            "/api/v1/refunds",
            {"external_id": f"RF-{n}", "order_external_id": "S-1", "amount": "40.00"},
        ),
    )
    # then one is refunded and the other refused: never more than the sale
    assert sorted(r.status_code for r in responses) == [201, 422], [r.text for r in responses]
    assert {r.json().get("code") for r in responses} == {None, "refund_exceeds_order"}
    read = admin.get("/api/v1/orders/S-1").json()
    assert (read["refunded_amount"], len(read["refunds"])) == ("40.00", 1)
