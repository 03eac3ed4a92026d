"""The liability report through the API: figures by home store, a store-bound key's own."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from memberkit.db import Database
from tests.rest import Api, make_key, order_body


def test_the_liability_shows_points_their_value_and_stored_value_by_home_store(
    admin: Api, member: dict[str, Any], client: TestClient, database: Database
) -> None:
    # given a member of SH001 who earned 60 points and recharged ¥500.00 (+ ¥50.00), and one
    # without a home store who recharged ¥200.00
    no = member["member_no"]
    assert admin.post("/api/v1/orders", order_body(no, "O-1")).status_code == 201
    recharge = {"amount": "500.00", "method": "cash", "occurred_at": "2026-11-22T10:00:00+08:00"}
    posted = admin.post(
        f"/api/v1/members/{no}/wallet/recharges", {"external_id": "R-1", **recharge}
    )
    assert posted.status_code == 201
    loose = admin.post("/api/v1/members", {"phone": "13900139000"}).json()["member_no"]
    other = {**recharge, "external_id": "R-2", "amount": "200.00"}
    assert admin.post(f"/api/v1/members/{loose}/wallet/recharges", other).status_code == 201

    report = admin.get("/api/v1/liability")

    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["on"], body["at"], body["points_per_currency_unit"]) == (
        "2026-11-23",
        "2026-11-24T00:00:00+08:00",
        100,
    )
    sh001 = {
        "store_code": "SH001",
        "points": 60,
        "points_value": "0.60",
        "points_debt": 0,
        "expiring": {"30": 0, "60": 0, "90": 0},
        "wallet_principal": "500.00",
        "wallet_bonus": "50.00",
        "wallet_total": "550.00",
    }
    none = {
        **sh001,
        "store_code": None,
        "points": 0,
        "points_value": "0.00",
        "wallet_principal": "200.00",
        "wallet_bonus": "0.00",
        "wallet_total": "200.00",
    }
    assert body["stores"] == [sh001, none]
    assert body["total"] == {
        **sh001,
        "store_code": None,
        "wallet_principal": "700.00",
        "wallet_total": "750.00",
    }
    # a day before anything happened, nothing was owed
    assert admin.get("/api/v1/liability", on="2026-11-21").json()["stores"] == []
    # a store-bound key sees its store's members only
    pos = Api(client, make_key(database, "pos", store="SH001"))
    assert pos.get("/api/v1/liability").json()["stores"] == [sh001]


def test_a_bad_day_is_refused(admin: Api) -> None:
    for bad in ("yesterday", "1999-12-31", "2026-13-01"):
        refused = admin.get("/api/v1/liability", on=bad)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
