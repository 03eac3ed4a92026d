"""Points read side and adjustments through the API."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from memberkit.config import settings
from memberkit.db import Database
from memberkit.order.rules import EarningRules
from tests.rest import Api, order_body, table_contents


def local_now() -> datetime:
    return datetime.now(settings.tz).replace(microsecond=0)


def midnight_after(day: date) -> str:
    after = day + timedelta(days=1)
    return datetime(after.year, after.month, after.day, tzinfo=settings.tz).isoformat()


def test_adjustments_need_a_key_and_a_reason(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    path = f"/api/v1/members/{member['member_no']}/points/adjustments"
    before = table_contents(database)
    missing_key = admin.post(path, {"points": 100, "reason": "goodwill"})
    assert (missing_key.status_code, missing_key.json()["code"]) == (
        400,
        "idempotency_key_required",
    )
    no_reason = admin.post(path, {"points": 100}, **{"Idempotency-Key": "a1"})
    assert no_reason.json()["code"] == "validation_error"
    zero = admin.post(path, {"points": 0, "reason": "x"}, **{"Idempotency-Key": "a1"})
    assert zero.status_code == 422
    too_much = admin.post(path, {"points": -1, "reason": "x"}, **{"Idempotency-Key": "a1"})
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_points")
    assert table_contents(database) == before

    credit = admin.post(path, {"points": 100, "reason": "客诉补偿"}, **{"Idempotency-Key": "a2"})
    again = admin.post(path, {"points": 100, "reason": "客诉补偿"}, **{"Idempotency-Key": "a2"})
    debit = admin.post(path, {"points": -30, "reason": "误加扣回"}, **{"Idempotency-Key": "a3"})
    assert (credit.status_code, again.status_code, debit.status_code) == (201, 200, 201)
    assert debit.json()["points_balance"] == 70

    history = admin.get(f"/api/v1/members/{member['member_no']}/ledger").json()
    assert [
        (i["kind"], i["amount"], i["balance_after"], i["reason"]) for i in history["items"]
    ] == [
        ("adjust", -30, 70, "误加扣回"),
        ("adjust", 100, 100, "客诉补偿"),
    ]
    assert history["items"][0]["actor"] == "api:test-admin"


def test_statement_filters_and_pages(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    for n, day in enumerate(("2026-11-01", "2026-11-05", "2026-11-10")):
        admin.post("/api/v1/orders", order_body(no, f"O-{n}", occurred_at=f"{day}T10:00:00+08:00"))
    admin.post(
        "/api/v1/refunds", {"external_id": "RF", "order_external_id": "O-2", "amount": "10.00"}
    )

    page = admin.get(f"/api/v1/members/{no}/ledger", page_size=2).json()
    assert page["page"] == {"page": 1, "page_size": 2, "total": 4}
    assert [(i["kind"], i["amount"], i["balance_after"]) for i in page["items"]] == [
        ("refund", -10, 170),
        ("earn", 60, 180),
    ]
    second = admin.get(f"/api/v1/members/{no}/ledger", page_size=2, page=2).json()
    assert [i["balance_after"] for i in second["items"]] == [120, 60]

    earns = admin.get(
        f"/api/v1/members/{no}/ledger", kind="earn", **{"from": "2026-11-05", "to": "2026-11-05"}
    ).json()
    assert [(i["amount"], i["occurred_at"]) for i in earns["items"]] == [
        (60, "2026-11-05T10:00:00+08:00")
    ]
    growth = admin.get(f"/api/v1/members/{no}/ledger", asset="growth").json()
    assert growth["items"][0]["balance_after"] == 170

    bad = admin.get(f"/api/v1/members/{no}/ledger", page_size=1000)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


def test_expiring_points(admin: Api, member: dict[str, Any], database: Database) -> None:
    from tests.conftest import set_rules

    set_rules(database, points_validity={"type": "rolling_days", "days": 10})
    no = member["member_no"]
    earned = local_now() - timedelta(days=2)
    admin.post("/api/v1/orders", order_body(no, "O-1", occurred_at=earned.isoformat()))
    points = admin.get(f"/api/v1/members/{no}/points", expiring_within_days=3650).json()
    assert points["lots"] == [
        {
            "remaining": 60,
            "earned_at": earned.isoformat(),
            "expires_at": midnight_after(earned.date() + timedelta(days=10)),
        }
    ]
    assert points["expiring_points"] == 60


def test_program_settings_and_expiring_listing(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    bad = admin.patch("/api/v1/program", {"earning_rules": {"points_per_unit": "-1"}})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_program_settings")
    unknown = admin.patch("/api/v1/program", {"earning_rules": {"bonus": 1}})
    assert unknown.json()["code"] == "invalid_program_settings"
    cents = admin.patch("/api/v1/program", {"earning_rules": {"min_order_amount": "1.001"}})
    assert cents.json()["code"] == "invalid_program_settings"
    assert admin.get("/api/v1/program").json()["earning_rules"] == EarningRules().config()

    changed = admin.patch(
        "/api/v1/program",
        {
            "earning_rules": {"points_per_unit": "2"},
            "points_validity": {"type": "rolling_days", "days": 20},
        },
    )
    assert changed.status_code == 200, changed.text
    now = local_now()
    order = admin.post(
        "/api/v1/orders", order_body(member["member_no"], "O-1", occurred_at=now.isoformat())
    )
    assert order.json()["points_earned"] == 120

    listing = admin.get("/api/v1/points/expiring", within_days=30).json()
    assert (listing["members"], listing["points"]) == (1, 120)
    assert listing["items"][0]["member_no"] == member["member_no"]
    assert listing["items"][0]["first_expiry"] == midnight_after(now.date() + timedelta(days=20))
    assert admin.get("/api/v1/points/expiring", within_days=1).json()["members"] == 0

    fetched = admin.get("/api/v1/orders/O-1").json()
    assert {k: fetched[k] for k in ("external_id", "points_earned", "points_balance")} == {
        "external_id": "O-1",
        "points_earned": 120,
        "points_balance": 120,
    }
    assert admin.get("/api/v1/orders/NOPE").json()["code"] == "order_not_found"
