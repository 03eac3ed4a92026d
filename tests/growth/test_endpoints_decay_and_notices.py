"""Growth decay and tier grace notices, set through the API and run by the jobs' commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from tests.rest import Api, order_body, table_contents

DECAY = {"after_days": 365, "share": "0.2"}


def buy(admin: Api, member_no: str, external_id: str, amount: str, at: str) -> Any:
    body = order_body(
        member_no,
        external_id,
        occurred_at=at,
        lines=[{"sku": "M1", "quantity": 1, "unit_price": amount, "amount": amount}],
        payments=[{"method": "wechat", "amount": amount}],
    )
    response = admin.post("/api/v1/orders", body)
    assert response.status_code == 201, response.text
    return response.json()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["jobs", *args])
    assert result.exit_code == 0, result.output
    return result.output


def on_day(clock: time_machine.Coordinates, day: str) -> None:
    """Travel to noon of ``day`` in the program's timezone."""
    clock.move_to(datetime.fromisoformat(f"{day}T12:00:00+08:00"))


def growth_history(admin: Api, member_no: str) -> list[tuple[str, int, int]]:
    items = admin.get(f"/api/v1/members/{member_no}/ledger", asset="growth").json()["items"]
    return [(i["kind"], i["amount"], i["balance_after"]) for i in items]


def set_decay(admin: Api, decay: Any) -> Any:
    rules = {**DEFAULT_GROWTH_RULES, "decay": decay}
    return admin.client.put("/api/v1/growth", json=rules, headers=admin.headers)


@pytest.mark.parametrize(
    "decay",
    [
        {"after_days": 365, "share": "1.5"},
        {"after_days": 365, "share": "0"},
        {"after_days": 365, "share": 0.2},  # a float: shares are decimal strings
        {"after_days": 365, "share": "0.12345"},
        {"after_days": 0, "share": "0.2"},
        {"after_days": 365},
        {"after_days": 365, "share": "0.2", "when": "always"},
    ],
)
def test_bad_decay_settings_are_refused_and_change_nothing(
    admin: Api, database: Database, decay: dict[str, Any]
) -> None:
    before = table_contents(database)
    refused = set_decay(admin, decay)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert "decay" in refused.json()["detail"]
    assert "decay" not in admin.get("/api/v1/growth").json()
    assert table_contents(database) == before


def test_idle_growth_decays_once_per_period_as_a_ledger_posting(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    no = member["member_no"]
    bought = buy(admin, no, "O-1", "900.00", "2026-11-22T10:00:00+08:00")
    assert bought["tier"]["code"] == "gold"  # single-day spend of 800.00 or more
    on_day(clock, "2027-11-22")
    run("decay-growth", "--as-of", "2027-11-22")  # no decay is set yet: nothing to do
    assert growth_history(admin, no) == [("earn", 900, 900)]
    accepted = set_decay(admin, DECAY)
    assert accepted.status_code == 200, accepted.text
    assert admin.get("/api/v1/growth").json()["decay"] == DECAY

    on_day(clock, "2027-11-22")
    run("decay-growth", "--as-of", "2027-11-22")  # 365 days after 10:00 is not over yet
    assert growth_history(admin, no) == [("earn", 900, 900)]

    on_day(clock, "2027-11-23")
    assert "180" in run("decay-growth", "--as-of", "2027-11-23")
    run("decay-growth", "--as-of", "2027-11-23")  # a rerun takes nothing more
    on_day(clock, "2028-11-21")
    run("decay-growth", "--as-of", "2028-11-21")  # the next period is not over
    assert growth_history(admin, no) == [("decay", -180, 720), ("earn", 900, 900)]
    statement = admin.get(f"/api/v1/members/{no}/ledger", asset="growth").json()["items"]
    assert statement[0]["reason"] == "no growth since 2026-11-22: 20% decayed"

    on_day(clock, "2028-11-22")
    run("decay-growth", "--as-of", "2028-11-22")  # 365 days after the last decay
    assert growth_history(admin, no)[0] == ("decay", -144, 576)
    tier = admin.get(f"/api/v1/members/{no}/tier").json()
    assert tier["tier"]["code"] == "gold"  # decay alone never moves a tier; the review does

    on_day(clock, "2029-01-05")
    sign_in = admin.post(
        f"/api/v1/members/{no}/events",
        {"type": "sign_in", "external_id": "S-1", "occurred_at": "2029-01-05T09:00:00+08:00"},
    )
    assert sign_in.status_code == 201, sign_in.text
    on_day(clock, "2029-11-23")
    run("decay-growth", "--as-of", "2029-11-23")  # earned within the period: no decay
    assert growth_history(admin, no)[0] == ("behaviour", 1, 577)
    check = CliRunner().invoke(app, ["ledger", "check"])
    assert check.exit_code == 0, check.output


def test_closed_members_and_members_without_growth_do_not_decay(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    assert set_decay(admin, DECAY).status_code == 200
    other = admin.post("/api/v1/members", {"phone": "13900139000"}).json()["member_no"]
    buy(admin, member["member_no"], "O-1", "100.00", "2026-11-22T10:00:00+08:00")
    closed = admin.patch(f"/api/v1/members/{member['member_no']}", {"status": "closed"})
    assert closed.status_code == 200, closed.text
    on_day(clock, "2030-01-01")
    run("decay-growth", "--as-of", "2030-01-01")
    assert growth_history(admin, member["member_no"]) == [("earn", 100, 100)]
    assert growth_history(admin, other) == []


def test_grace_notice_is_recorded_before_a_review_that_would_move_down(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    at_risk = member["member_no"]
    safe = admin.post("/api/v1/members", {"phone": "13900139000"}).json()["member_no"]
    buy(admin, at_risk, "O-1", "900.00", "2026-11-22T10:00:00+08:00")  # gold, growth 900
    buy(admin, safe, "O-2", "3500.00", "2026-11-22T10:00:00+08:00")  # gold, growth 3,500
    assert admin.get("/api/v1/tiers").json()["notice_days"] == 30

    on_day(clock, "2026-12-01")
    run("review-tiers", "--as-of", "2026-12-01")  # the review (2027-01-01) is 31 days away
    assert admin.get(f"/api/v1/members/{at_risk}/tier").json()["notice"] is None

    on_day(clock, "2026-12-02")
    run("review-tiers", "--as-of", "2026-12-02")
    on_day(clock, "2026-12-03")
    run("review-tiers", "--as-of", "2026-12-03")  # at most one notice per review
    notice = admin.get(f"/api/v1/members/{at_risk}/tier").json()["notice"]
    assert notice == {
        "review_at": "2027-01-01T00:00:00+08:00",
        "expected_tier": {"level": 1, "code": "silver", "name": "银卡会员", "upgraded": False},
        "recorded_at": "2026-12-02T00:00:00+08:00",
    }
    assert admin.get(f"/api/v1/members/{safe}/tier").json()["notice"] is None  # keeps gold
    listed = admin.get("/api/v1/tiers/notices").json()
    assert listed == {
        "items": [
            {
                "member_no": at_risk,
                "tier": {"level": 2, "code": "gold", "name": "金卡会员", "upgraded": False},
                "notice": notice,
            }
        ],
        "page": {"page": 1, "page_size": 50, "total": 1},
    }

    on_day(clock, "2027-01-01")
    run("review-tiers", "--as-of", "2027-01-01")
    moved = admin.get(f"/api/v1/members/{at_risk}/tier").json()
    assert (moved["tier"]["code"], moved["notice"]) == ("silver", None)  # next review: 2028
    assert admin.get("/api/v1/tiers/notices").json()["items"] == []
    assert admin.get(f"/api/v1/members/{safe}/tier").json()["tier"]["code"] == "gold"


def test_notice_days_are_validated_and_zero_records_none(
    admin: Api, member: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> None:
    ladder = admin.get("/api/v1/tiers").json()
    before = table_contents(database)
    for bad in (-1, 181, "30", 2.5):
        refused = admin.client.put(
            "/api/v1/tiers", json={**ladder, "notice_days": bad}, headers=admin.headers
        )
        assert refused.status_code == 422, (bad, refused.text)
    assert table_contents(database) == before
    off = admin.client.put(
        "/api/v1/tiers", json={**ladder, "notice_days": 0}, headers=admin.headers
    )
    assert off.status_code == 200, off.text
    buy(admin, member["member_no"], "O-1", "900.00", "2026-11-22T10:00:00+08:00")
    on_day(clock, "2026-12-31")
    run("review-tiers", "--as-of", "2026-12-31")
    assert admin.get(f"/api/v1/members/{member['member_no']}/tier").json()["notice"] is None


def test_a_run_for_a_past_date_leaves_growth_earned_since(
    admin: Api, member: dict[str, Any], clock: time_machine.Coordinates
) -> None:
    no = member["member_no"]
    assert set_decay(admin, DECAY).status_code == 200
    on_day(clock, "2025-01-10")
    buy(admin, no, "O-1", "100.00", "2025-01-10T10:00:00+08:00")
    on_day(clock, "2026-11-22")
    buy(admin, no, "O-2", "50.00", "2026-11-22T10:00:00+08:00")
    run("decay-growth", "--as-of", "2026-06-01")  # idle for 365 days then, but not since
    assert growth_history(admin, no) == [("earn", 50, 150), ("earn", 100, 100)]
