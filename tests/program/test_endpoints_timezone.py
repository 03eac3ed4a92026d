"""The program's timezone is a setting: its local days follow it, not the deployment's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine

from memberkit.config import settings
from memberkit.program import service as program_service
from tests.rest import Api, order_body


def put(admin: Api, section: str, value: Any) -> None:
    response = admin.client.patch(f"/api/v1/settings/{section}", json=value, headers=admin.headers)
    assert response.status_code == 200, response.text


def buy(admin: Api, no: str, external_id: str, at: str, amount: str = "60.00") -> Any:
    line = {"sku": "A1", "quantity": 1, "unit_price": amount, "amount": amount}
    body = order_body(
        no,
        external_id,
        occurred_at=at,
        lines=[line],
        payments=[{"method": "wechat", "amount": amount}],
    )
    response = admin.post("/api/v1/orders", body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_new_program_takes_the_deployments_timezone(
    admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert admin.get("/api/v1/settings/calendar").json() == {"timezone": "Asia/Shanghai"}
    monkeypatch.setattr(settings, "timezone", "Europe/Berlin")
    program_service.forget_cache()
    assert admin.get("/api/v1/settings/calendar").json() == {"timezone": "Europe/Berlin"}


def test_date_multipliers_follow_the_programs_day(admin: Api, member: dict[str, Any]) -> None:
    # given double points on Sundays; Monday 04:00 in Shanghai is Sunday noon in Los Angeles
    put(admin, "earning", {"date_multipliers": [{"weekday": 7, "multiplier": "2"}]})
    at = "2026-11-23T04:00:00+08:00"

    # when an order is posted then, in Shanghai's calendar and then in Los Angeles's
    in_shanghai = buy(admin, member["member_no"], "O-1", at)
    put(admin, "calendar", {"timezone": "America/Los_Angeles"})
    in_los_angeles = buy(admin, member["member_no"], "O-2", at)

    # then only the second falls on a Sunday
    assert (in_shanghai["points_earned"], in_los_angeles["points_earned"]) == (60, 120)


def test_points_valid_to_the_end_of_next_year_end_in_the_programs_year(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    # given it is 1 January 2027, 01:30 in Shanghai (still 31 December 2026 in UTC)
    clock.move_to(datetime.fromisoformat("2027-01-01T01:30:00+08:00"))
    no = member["member_no"]

    # when an order is posted in Shanghai's calendar, then one in UTC's
    buy(admin, no, "O-1", "2027-01-01T01:30:00+08:00")
    put(admin, "calendar", {"timezone": "UTC"})
    buy(admin, no, "O-2", "2027-01-01T01:30:00+08:00")

    # then the first lot lasts to the end of 2028 in Shanghai, the second to the end of 2027
    lots = admin.get(f"/api/v1/members/{no}/points").json()["lots"]
    expiries = sorted(datetime.fromisoformat(lot["expires_at"]) for lot in lots)
    assert expiries == [
        datetime.fromisoformat("2028-01-01T00:00:00+00:00"),
        datetime.fromisoformat("2029-01-01T00:00:00+08:00"),
    ]


def test_a_tier_is_reviewed_at_the_programs_new_year(admin: Api, member: dict[str, Any]) -> None:
    # given the program's calendar is New York's
    put(admin, "calendar", {"timezone": "America/New_York"})

    # when an order makes the member gold
    order = buy(admin, member["member_no"], "O-1", "2026-11-23T10:00:00+08:00", "800.00")

    # then the review is at midnight of 1 January in New York
    assert order["tier"]["code"] == "gold"
    tier = admin.get(f"/api/v1/members/{member['member_no']}/tier").json()
    assert datetime.fromisoformat(tier["review_at"]) == datetime.fromisoformat(
        "2027-01-01T00:00:00-05:00"
    )


def test_answers_show_times_in_the_programs_timezone(admin: Api, member: dict[str, Any]) -> None:
    # given a program that moved to Los Angeles (UTC-8 in November)
    put(admin, "calendar", {"timezone": "America/Los_Angeles"})

    # when an order is posted with a time given in Shanghai's offset
    order = buy(admin, member["member_no"], "O-1", "2026-11-23T04:00:00+08:00")

    # then the answer and a later read show it on Los Angeles's clock
    assert order["occurred_at"] == "2026-11-22T12:00:00-08:00"
    assert admin.get("/api/v1/orders/O-1").json()["occurred_at"] == "2026-11-22T12:00:00-08:00"

    # and once the program is back on Shanghai's timezone, so are its answers
    put(admin, "calendar", {"timezone": "Asia/Shanghai"})
    assert admin.get("/api/v1/orders/O-1").json()["occurred_at"] == "2026-11-23T04:00:00+08:00"
