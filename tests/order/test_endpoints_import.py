"""``POST /api/v1/orders/import``: history rows in bulk, per-row idempotency, store-bound keys."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, literal, select

from memberkit.db import Database
from memberkit.order.models import Order
from memberkit.order.schemas import MAX_IMPORT_ROWS
from tests.api.test_concurrent_requests import run_behind_a_lock
from tests.rest import Api, make_key, table_contents


def test_rows_are_imported_once_and_bad_rows_listed_in_the_requests_language(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given rows: the member's order by card number, a non-member sale, a refund, a bad row
    body = {
        "rows": [
            {
                "external_id": "H-1",
                "occurred_at": "2019-05-01 10:00",
                "member_no": member["member_no"],
                "store_code": "SH001",
                "amount": "128.50",
            },
            {"external_id": "H-2", "occurred_at": "2019-05-02", "amount": "9.90"},
            {
                "type": "refund",
                "external_id": "R-1",
                "order_external_id": "H-1",
                "occurred_at": "2019-05-03",
                "amount": "28.50",
            },
            {"external_id": "H-3", "occurred_at": "1989-01-01", "amount": "1.00"},
        ]
    }
    # when they are posted twice, the second time in Chinese
    first = admin.post("/api/v1/orders/import", body, **{"Accept-Language": "en"})
    before = table_contents(database)
    second = admin.post("/api/v1/orders/import", body, **{"Accept-Language": "zh-CN"})
    # then the first imports three, the second none, and each names the bad row
    assert first.status_code == 200, first.text
    assert first.json() == {
        "orders": 2,
        "refunds": 1,
        "already_present": 0,
        "members_created": 0,
        "non_member_orders": 1,
        "points_earned": 0,
        "growth_earned": 0,
        "points_reversed": 0,
        "growth_reversed": 0,
        "errors": [{"row": 4, "message": "occurred_at must be on or after 1990-01-01"}],
    }
    assert second.json()["already_present"] == 3
    assert second.json()["orders"] == 0
    assert second.json()["errors"][0]["row"] == 4
    assert second.json()["errors"][0]["message"] != "occurred_at must be on or after 1990-01-01"
    assert table_contents(database) == before
    # and the imported order reads back, earning nothing, with its refund
    order = admin.get("/api/v1/orders/H-1").json()
    assert (order["points_earned"], order["refunded_amount"], order["status"]) == (
        0,
        "28.50",
        "partially_refunded",
    )
    sale = admin.get("/api/v1/orders/H-2").json()
    assert (sale["member_no"], sale["tier"], sale["total_amount"]) == (None, None, "9.90")


def test_a_store_bound_key_imports_only_its_own_stores_rows(
    client: TestClient, admin: Api, database: Database
) -> None:
    # given two stores and a key bound to one
    for code in ("SH001", "SH002"):
        admin.post("/api/v1/stores", {"code": code, "name": code, "type": "direct", "city": "上海"})
    pos = Api(client, make_key(database, "pos", "SH001"))
    # when it imports a row of its store, one naming none and one of the other store
    response = pos.post(
        "/api/v1/orders/import",
        {
            "rows": [
                {"external_id": "A", "occurred_at": "2019-05-01", "amount": "1.00"},
                {
                    "external_id": "B",
                    "occurred_at": "2019-05-01",
                    "amount": "1.00",
                    "store_code": "SH001",
                },
                {
                    "external_id": "C",
                    "occurred_at": "2019-05-01",
                    "amount": "1.00",
                    "store_code": "SH002",
                },
            ]
        },
        **{"Accept-Language": "en"},
    )
    # then its store's two are imported (the first as its store's) and the third refused
    assert response.json()["orders"] == 2
    assert response.json()["errors"] == [
        {"row": 3, "message": "this key may import only store SH001's rows"}
    ]
    assert admin.get("/api/v1/orders/A").json()["external_id"] == "A"
    assert admin.get("/api/v1/orders/C").status_code == 404


def test_too_many_rows_or_a_wrong_field_are_refused_and_nothing_changes(
    admin: Api, database: Database
) -> None:
    before = table_contents(database)
    row = {"external_id": "X", "occurred_at": "2019-05-01", "amount": "1.00"}
    too_many = admin.post("/api/v1/orders/import", {"rows": [row] * (MAX_IMPORT_ROWS + 1)})
    unknown = admin.post("/api/v1/orders/import", {"rows": [{**row, "totl": "1"}]})
    assert (too_many.status_code, unknown.status_code) == (422, 422)
    assert table_contents(database) == before


def test_ten_thousand_realistic_rows_fit_the_import_body_limit(admin: Api) -> None:
    # given 10,000 rows of about 250 bytes each (2.5 MB: more than the 1 MiB of other bodies)
    rows = [
        {
            "external_id": f"OLD-POS-2019-{n:08d}",
            "occurred_at": "2019-05-01T14:30:00+08:00",
            "phone": "",
            "store_code": "",
            "channel": "store",
            "amount": "128.50",
            "sku": f"SKU-{n % 500:06d}-COFFEE-BEANS",
            "category": "coffee beans and brewing gear",
            "qty": "2",
        }
        for n in range(MAX_IMPORT_ROWS)
    ]
    body = json.dumps({"rows": rows})
    assert len(body) > 2_000_000
    # when they are posted in one request, they go in; the same size elsewhere is refused
    imported = admin.client.post(
        "/api/v1/orders/import",
        content=body,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert imported.status_code == 200, imported.text[:300]
    assert imported.json()["orders"] == MAX_IMPORT_ROWS
    elsewhere = admin.client.post(
        "/api/v1/orders",
        content=body,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (413, "body_too_large")


@pytest.mark.postgres_only
def test_imports_racing_for_one_external_id_answer_409_not_500(
    admin: Api, database: Database
) -> None:
    # given an order imported, and an open transaction that takes the external id X-1 (a
    # concurrent import between the others' check and their COPY)
    row = {"external_id": "SEED", "occurred_at": "2019-05-01", "amount": "1.00"}
    assert admin.post("/api/v1/orders/import", {"rows": [row]}).json()["orders"] == 1
    orders = Order.__table__
    columns = [c for c in orders.c if c.name != "id"]

    def hold(session: Any) -> None:
        copied = [literal("X-1") if c.name == "external_id" else c for c in columns]
        session.execute(
            insert(orders).from_select(
                [c.name for c in columns], select(*copied).where(orders.c.external_id == "SEED")
            )
        )

    # when two imports of X-1 come meanwhile
    responses = run_behind_a_lock(
        database,
        hold,
        2,
        lambda n: admin.post("/api/v1/orders/import", {"rows": [{**row, "external_id": "X-1"}]}),
    )
    # then both are told to retry (409), not failed (500), and a retry finds the row present
    assert [(r.status_code, r.json()["code"]) for r in responses] == [
        (409, "concurrent_change"),
        (409, "concurrent_change"),
    ]
    retry = admin.post("/api/v1/orders/import", {"rows": [{**row, "external_id": "X-1"}]})
    assert (retry.status_code, retry.json()["already_present"]) == (200, 1)
