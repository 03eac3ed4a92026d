"""History imported earns nothing and counts for no rule: tier spend windows and order counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from memberkit.db import Database
from memberkit.kit.time import utcnow
from tests.rest import Api, order_body


def _ago(**delta: float) -> str:
    return (utcnow() - timedelta(**delta)).replace(microsecond=0).isoformat()


def _buy(admin: Api, no: str, external_id: str, amount: str) -> Any:
    line = {"sku": "A1", "category": "apparel", "quantity": 1, "unit_price": amount}
    body = order_body(
        no,
        external_id,
        occurred_at=_ago(hours=1),
        lines=[{**line, "amount": amount}],
        payments=[{"method": "wechat", "amount": amount}],
    )
    response = admin.post("/api/v1/orders", body)
    assert response.status_code == 201, response.text
    return response.json()


def _import(admin: Api, no: str, *rows: tuple[str, str]) -> None:
    body = {
        "rows": [
            {"external_id": ext, "occurred_at": _ago(days=2), "member_no": no, "amount": amount}
            for ext, amount in rows
        ]
    }
    response = admin.post("/api/v1/orders/import", body)
    assert response.status_code == 200, response.text
    assert response.json()["orders"] == len(rows)


def _ladder(admin: Api, qualify: dict[str, Any]) -> None:
    ladder = {
        "tiers": [
            {"code": "member", "name": "会员"},
            {"code": "vip", "name": "VIP", "qualify": qualify},
        ],
        "moves": {"regular": "member"},
    }
    response = admin.client.put("/api/v1/tiers", json=ladder, headers=admin.headers)
    assert response.status_code == 200, response.text


def test_history_spend_does_not_count_in_a_tier_spend_window(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a VIP at 100.00 spent within 30 days, and 500.00 of history two days ago
    _ladder(admin, {"spend_at_least": "100.00", "within_days": 30})
    no = member["member_no"]
    _import(admin, no, ("H-1", "500.00"))
    # when the member spends 60.00 live, then 40.00 more
    first = _buy(admin, no, "O-1", "60.00")
    second = _buy(admin, no, "O-2", "40.00")
    # then only the live spend counts: VIP at 100.00 of it, not before
    assert first["tier"]["code"] == "member"
    assert (second["tier"]["code"], second["tier"]["upgraded"]) == ("vip", True)


def test_history_orders_do_not_count_as_orders_in_a_window(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a VIP at two orders within 7 days, and three history orders two days ago
    _ladder(admin, {"orders_at_least": 2, "within_days": 7})
    no = member["member_no"]
    _import(admin, no, ("H-1", "10.00"), ("H-2", "10.00"), ("H-3", "10.00"))
    # when the member buys once, then again
    first = _buy(admin, no, "O-1", "10.00")
    second = _buy(admin, no, "O-2", "10.00")
    # then the history orders were not counted
    assert first["tier"]["code"] == "member"
    assert second["tier"]["code"] == "vip"


def test_the_history_section_is_none_by_default_and_earning_history_can_be_set(
    admin: Api, database: Database
) -> None:
    assert admin.get("/api/v1/settings/history").json() == {
        "earn": "none",
        "counts_for_tiers": False,
    }
    for earn in ("growth", "all", "none"):
        kept = admin.client.put(
            "/api/v1/settings/history",
            json={"earn": earn, "counts_for_tiers": False},
            headers=admin.headers,
        )
        assert (kept.status_code, kept.json()) == (
            200,
            {"earn": earn, "counts_for_tiers": False},
        )
