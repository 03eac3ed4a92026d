"""Store-bound keys act for their store only, replays included; what they may read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from memberkit.db import Database
from memberkit.kit.time import iso, utcnow
from tests.rest import Api, make_key, order_body, table_contents


def keys(client: Any, database: Database) -> tuple[Api, Api]:
    """Pos keys bound to SH001 and BJ001."""
    return (
        Api(client, make_key(database, "pos", store="SH001")),
        Api(client, make_key(database, "pos", store="BJ001")),
    )


def recent(**overrides: Any) -> dict[str, Any]:
    """An order body dated an hour ago."""
    return {"occurred_at": iso(utcnow() - timedelta(hours=1)), **overrides}


def post_order(api: Api, member_no: str, external_id: str, **overrides: Any) -> dict[str, Any]:
    """Post an order dated an hour ago (at SH001 unless overridden) and return it."""
    response = api.post("/api/v1/orders", order_body(member_no, external_id, **recent(**overrides)))
    assert response.status_code == 201, response.text
    return dict(response.json())


def unbound(body: dict[str, Any]) -> dict[str, Any]:
    """The body without a store code: the key's binding decides the store."""
    return {name: value for name, value in body.items() if name != "store_code"}


@pytest.fixture
def two_stores(admin: Api, store: dict[str, Any]) -> None:
    response = admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京三里屯店"})
    assert response.status_code == 201, response.text


@pytest.mark.usefixtures("two_stores")
def test_another_stores_key_replaying_an_order_is_refused(
    client: Any, member: dict[str, Any], database: Database
) -> None:
    # given an order posted by SH001's till without naming the store
    sh, bj = keys(client, database)
    body = unbound(order_body(member["member_no"], "POS-1", **recent()))
    first = sh.post("/api/v1/orders", body)
    assert (first.status_code, first.json()["points_earned"]) == (201, 60)
    before = table_contents(database)
    # when BJ001's till sends the very same request
    replay = bj.post("/api/v1/orders", body)
    # then it is refused, and does not get SH001's order
    assert (replay.status_code, replay.json()["code"]) == (409, "idempotency_conflict")
    assert "order_id" not in replay.json()
    assert table_contents(database) == before
    # and SH001's own retry still replays
    again = sh.post("/api/v1/orders", body)
    assert (again.status_code, again.json()) == (200, first.json())


@pytest.mark.usefixtures("two_stores")
def test_another_stores_key_replaying_a_refund_recharge_event_or_registration_is_refused(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a refund, a recharge, an event and a registration made by SH001's till, and
    # cross-store returns allowed (so BJ001 could refund SH001's orders, but not replay them)
    sh, bj = keys(client, database)
    no = member["member_no"]
    post_order(admin, no, "O-1")
    admin.patch("/api/v1/program", {"policies": {"cross_store_returns": True}})
    recharge = {
        "external_id": "RC-1",
        "amount": "100.00",
        "method": "wechat",
        "occurred_at": iso(utcnow() - timedelta(hours=1)),
    }
    event = {"external_id": "EV-1", "type": "review", "occurred_at": recharge["occurred_at"]}
    member_body = {"phone": "13900139000", "name": "李四"}
    requests = [
        ("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"}, {}),
        (f"/api/v1/members/{no}/wallet/recharges", recharge, {}),
        (f"/api/v1/members/{no}/events", event, {}),
        ("/api/v1/members", member_body, {"Idempotency-Key": "reg-1"}),
    ]
    for path, body, headers in requests:
        assert sh.post(path, body, **headers).status_code == 201, path
    before = table_contents(database)
    # when BJ001's till replays each
    for path, body, headers in requests:
        replay = bj.post(path, body, **headers)
        # then each is refused
        assert (replay.status_code, replay.json()["code"]) == (409, "idempotency_conflict"), path
    assert table_contents(database) == before


@pytest.mark.usefixtures("two_stores")
def test_unbound_key_does_not_get_a_store_bound_keys_result(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order posted by SH001's till (booked to SH001)
    sh, _bj = keys(client, database)
    body = unbound(order_body(member["member_no"], "POS-1", **recent()))
    assert sh.post("/api/v1/orders", body).status_code == 201
    before = table_contents(database)
    # when an unbound key sends the same body (which would be an order without a store)
    replay = admin.post("/api/v1/orders", body)
    # then it is refused
    assert (replay.status_code, replay.json()["code"]) == (409, "idempotency_conflict")
    assert table_contents(database) == before


@pytest.mark.usefixtures("two_stores")
def test_store_bound_key_refunding_another_stores_order_is_refused(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order of SH001, and cross-store returns off (the default)
    _sh, bj = keys(client, database)
    post_order(admin, member["member_no"], "O-1")
    before = table_contents(database)
    # when BJ001's till refunds it, or reads it
    refund = bj.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"})
    read = bj.get("/api/v1/orders/O-1")
    # then both are refused and nothing changed
    assert (refund.status_code, refund.json()["code"]) == (403, "store_mismatch")
    assert (read.status_code, read.json()["code"]) == (403, "store_mismatch")
    assert table_contents(database) == before


@pytest.mark.usefixtures("two_stores")
def test_cross_store_returns_let_a_store_bound_key_refund_another_stores_order(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order of SH001 and a program that allows cross-store returns (异店退货)
    _sh, bj = keys(client, database)
    post_order(admin, member["member_no"], "O-1")
    setting = admin.patch("/api/v1/program", {"policies": {"cross_store_returns": True}})
    assert setting.status_code == 200, setting.text
    # when BJ001's till reads and refunds it
    read = bj.get("/api/v1/orders/O-1")
    refund = bj.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"})
    # then both succeed
    assert (read.status_code, read.json()["external_id"]) == (200, "O-1")
    assert (refund.status_code, refund.json()["amount"], refund.json()["points_reversed"]) == (
        201,
        "60.00",
        60,
    )


@pytest.mark.parametrize("cross_store_returns", [False, True])
@pytest.mark.usefixtures("two_stores")
def test_online_orders_are_refunded_by_unbound_keys_only(
    client: Any, admin: Api, member: dict[str, Any], database: Database, cross_store_returns: bool
) -> None:
    # given an online order without a store
    sh, _bj = keys(client, database)
    online = unbound(order_body(member["member_no"], "WEB-1", channel="online", **recent()))
    assert admin.post("/api/v1/orders", online).status_code == 201
    admin.patch("/api/v1/program", {"policies": {"cross_store_returns": cross_store_returns}})
    before = table_contents(database)
    # when a store-bound key reads or refunds it
    refund = sh.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "WEB-1"})
    read = sh.get("/api/v1/orders/WEB-1")
    # then both are refused, whatever the cross-store setting
    assert (refund.status_code, refund.json()["code"]) == (403, "online_order_needs_unbound_key")
    assert (read.status_code, read.json()["code"]) == (403, "online_order_needs_unbound_key")
    assert table_contents(database) == before
    # and an unbound key refunds it
    done = admin.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "WEB-1"})
    assert (done.status_code, done.json()["amount"]) == (201, "60.00")


@pytest.mark.usefixtures("two_stores")
def test_store_bound_keys_read_any_member_and_their_points(
    client: Any, admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a member of SH001 who bought there
    _sh, bj = keys(client, database)
    no = member["member_no"]
    assert admin.post("/api/v1/orders", order_body(no, "O-1", **recent())).status_code == 201
    # when BJ001's till looks the member up (members shop everywhere in a chain)
    found = bj.get("/api/v1/members", phone="13800138000")
    points = bj.get(f"/api/v1/members/{no}/points")
    ledger = bj.get(f"/api/v1/members/{no}/ledger")
    wallet = bj.get(f"/api/v1/members/{no}/wallet")
    # then it sees them
    assert (found.status_code, found.json()["member_no"]) == (200, no)
    assert (points.status_code, points.json()["balance"]) == (200, 60)
    assert (ledger.status_code, [line["amount"] for line in ledger.json()["items"]]) == (200, [60])
    assert wallet.status_code == 200
