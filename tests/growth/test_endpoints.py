"""Behaviour events through the API: growth within caps, idempotency, upgrades."""

from __future__ import annotations

from typing import Any

import pytest

from memberkit.db import Database
from tests.rest import Api, order_body, table_contents


def event(
    admin: Api, member_no: str, kind: str, external_id: str, at: str = "2026-11-22T09:00:00+08:00"
) -> Any:
    return admin.post(
        f"/api/v1/members/{member_no}/events",
        {"type": kind, "external_id": external_id, "occurred_at": at},
    )


def test_daily_sign_in_is_capped_per_local_day(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    first = event(admin, no, "sign_in", "S-1")
    second = event(admin, no, "sign_in", "S-2", "2026-11-22T23:59:00+08:00")
    next_day = event(admin, no, "sign_in", "S-3", "2026-11-23T00:00:00+08:00")
    assert (first.status_code, first.json()["growth_awarded"], first.json()["capped"]) == (
        201,
        1,
        False,
    )
    assert (second.json()["growth_awarded"], second.json()["capped"]) == (0, True)
    assert (next_day.json()["growth_awarded"], next_day.json()["growth_balance"]) == (1, 2)
    repeat = event(admin, no, "sign_in", "S-1")
    assert (repeat.status_code, repeat.json()) == (200, first.json())


def test_shares_fill_the_cap_and_history_shows_the_reason(
    admin: Api, member: dict[str, Any]
) -> None:
    no = member["member_no"]
    awards = [event(admin, no, "share", f"SH-{n}").json()["growth_awarded"] for n in range(3)]
    assert awards == [5, 5, 0]  # 5 a share, at most 10 a day
    history = admin.get(f"/api/v1/members/{no}/ledger", asset="growth").json()["items"]
    assert [(i["kind"], i["amount"], i["reason"]) for i in history] == [
        ("behaviour", 5, "share"),
        ("behaviour", 5, "share"),
    ]


def test_growth_from_events_upgrades_at_once(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    rules = admin.client.put(
        "/api/v1/growth",
        json={"behaviours": {"photo_review": {"growth": 1000, "cap": 1000, "per": "month"}}},
        headers=admin.headers,
    )
    assert rules.status_code == 200, rules.text
    result = event(admin, member["member_no"], "photo_review", "PR-1").json()
    assert result["tier"] == {"level": 1, "code": "silver", "name": "银卡会员", "upgraded": True}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"type": "like", "external_id": "E-1", "occurred_at": "2026-11-22T09:00:00+08:00"},
            "unknown_behaviour",
        ),
        ({"type": "share", "external_id": "E-1"}, "validation_error"),
        (
            {"type": "share", "external_id": "E-1", "occurred_at": "1990-01-01T00:00:00+08:00"},
            "validation_error",
        ),
    ],
)
def test_bad_events_change_nothing(
    admin: Api, member: dict[str, Any], database: Database, body: dict[str, Any], code: str
) -> None:
    before = table_contents(database)
    response = admin.post(f"/api/v1/members/{member['member_no']}/events", body)
    assert (response.status_code, response.json()["code"]) == (422, code)
    assert table_contents(database) == before


def test_bad_growth_rules_are_refused(admin: Api) -> None:
    before = admin.get("/api/v1/growth").json()
    for rules in (
        {"likes": {"growth": 1, "cap": 1, "per": "day"}},
        {"share": {"growth": 5, "cap": 1, "per": "day"}},
        {"share": {"growth": 5, "cap": 10, "per": "hour"}},
    ):
        response = admin.client.put(
            "/api/v1/growth", json={"behaviours": rules}, headers=admin.headers
        )
        assert (response.status_code, response.json()["code"]) == (422, "invalid_program_settings")
    assert admin.get("/api/v1/growth").json() == before


def test_each_order_earns_its_own_growth_within_a_cap_and_refunds_take_it_back(
    admin: Api, member: dict[str, Any]
) -> None:
    rules = {"behaviours": {"order": {"growth": 10, "cap": 20, "per": "day"}}}
    accepted = admin.client.put("/api/v1/growth", json=rules, headers=admin.headers)
    assert accepted.status_code == 200, accepted.text
    no = member["member_no"]
    earned = [
        admin.post("/api/v1/orders", order_body(no, f"O-{n}")).json()["growth_earned"]
        for n in range(3)
    ]
    assert earned == [70, 70, 60]  # 60 for 60.00 spent, plus 10 an order, at most 20 a day
    history = admin.get(f"/api/v1/members/{no}/ledger", asset="growth").json()["items"]
    assert [(i["kind"], i["amount"], i["reason"]) for i in history[:2]] == [
        ("earn", 60, None),
        ("behaviour", 10, "order"),
    ]

    refund = admin.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-0"})
    assert refund.json()["growth_reversed"] == 70  # the order's growth, spend and order alike
    as_event = event(admin, no, "order", "E-1")
    assert (as_event.status_code, as_event.json()["code"]) == (422, "unknown_behaviour")


def test_growth_from_spending_is_capped_per_period(admin: Api, member: dict[str, Any]) -> None:
    rules = {"behaviours": {}, "spend_cap": {"cap": 100, "per": "day"}}
    accepted = admin.client.put("/api/v1/growth", json=rules, headers=admin.headers)
    assert accepted.status_code == 200, accepted.text
    assert admin.get("/api/v1/growth").json() == rules
    no = member["member_no"]
    day_one = [admin.post("/api/v1/orders", order_body(no, f"O-{n}")).json() for n in range(3)]
    assert [(o["growth_earned"], o["points_earned"]) for o in day_one] == [
        (60, 60),
        (40, 60),  # 60.00 spent, 100 a day: points are not capped, growth is
        (0, 60),
    ]
    next_day = admin.post(
        "/api/v1/orders", order_body(no, "O-3", occurred_at="2026-11-23T10:00:00+08:00")
    ).json()
    assert next_day["growth_earned"] == 60
    refund = admin.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"})
    assert refund.json()["growth_reversed"] == 40  # what the order was awarded

    for bad in ({"cap": 0, "per": "day"}, {"cap": 10, "per": "ever"}, {"cap": 10}):
        refused = admin.client.put(
            "/api/v1/growth", json={"behaviours": {}, "spend_cap": bad}, headers=admin.headers
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
