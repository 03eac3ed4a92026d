"""Honest time: nothing dated in the future, live requests dated back only so far (class 2)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.growth import service as growth_service
from memberkit.kit.time import Timing
from memberkit.program import service as program_service
from tests.rest import API_NOW, Api, order_body, table_contents

DECAY = {"after_days": 365, "share": "0.2"}


def event(admin: Api, no: str, external_id: str, at: datetime, kind: str = "sign_in") -> Any:
    return admin.post(
        f"/api/v1/members/{no}/events",
        {"type": kind, "external_id": external_id, "occurred_at": at.isoformat()},
    )


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (datetime.fromisoformat("2999-01-01T08:00:00+08:00"), "occurred_at_in_future"),
        (API_NOW + timedelta(minutes=11), "occurred_at_in_future"),
        (API_NOW - timedelta(days=30, minutes=1), "occurred_at_too_old"),
    ],
)
def test_behaviour_events_dated_out_of_bounds_are_refused_and_change_nothing(
    admin: Api, member: dict[str, Any], database: Database, at: datetime, code: str
) -> None:
    before = table_contents(database)
    refused = event(admin, member["member_no"], "S-1", at)
    assert (refused.status_code, refused.json()["code"]) == (422, code)
    assert table_contents(database) == before


def test_a_till_clock_a_little_ahead_and_a_till_catching_up_are_accepted(
    admin: Api, member: dict[str, Any]
) -> None:
    no = member["member_no"]
    assert event(admin, no, "S-1", API_NOW + timedelta(minutes=9)).status_code == 201
    late = order_body(no, "O-1", occurred_at=(API_NOW - timedelta(days=29)).isoformat())
    assert admin.post("/api/v1/orders", late).status_code == 201


def test_the_backdating_bound_is_a_program_setting(admin: Api, member: dict[str, Any]) -> None:
    # given an order and a refund dated 40 days back, refused under the default 30 days
    no = member["member_no"]
    forty = (API_NOW - timedelta(days=40)).isoformat()
    refused = admin.post("/api/v1/orders", order_body(no, "O-1", occurred_at=forty))
    assert (refused.status_code, refused.json()["code"]) == (422, "occurred_at_too_old")
    assert "30" in refused.json()["detail"]

    # when the merchant allows 60 days
    changed = admin.patch("/api/v1/program", {"policies": {"backdate_days": 60}})
    assert changed.status_code == 200, changed.text

    # then the same order is taken, and a refund dated before it is not
    assert admin.post("/api/v1/orders", order_body(no, "O-1", occurred_at=forty)).status_code == 201
    early = admin.post(
        "/api/v1/refunds",
        {
            "external_id": "RF-1",
            "order_external_id": "O-1",
            "occurred_at": (API_NOW - timedelta(days=41)).isoformat(),
        },
    )
    assert early.json()["code"] == "refund_before_order"


def test_refunds_and_recharges_dated_too_far_back_are_refused(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    assert admin.post("/api/v1/orders", order_body(no, "O-1")).status_code == 201
    old = (API_NOW - timedelta(days=31)).isoformat()
    before = table_contents(database)
    refund = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1", "occurred_at": old}
    )
    recharge = admin.post(
        f"/api/v1/members/{no}/wallet/recharges",
        {"external_id": "RC-1", "amount": "100.00", "method": "cash", "occurred_at": old},
    )
    assert [refund.json()["code"], recharge.json()["code"]] == ["occurred_at_too_old"] * 2
    assert table_contents(database) == before


def future_credit(
    database: Database, member_no: str, kind: str, at: datetime, external_id: str
) -> None:
    """A credit dated in the future, as data from before the bound was enforced holds."""
    with database.session_scope() as session:
        program = program_service.get(session)
        growth_service.record(
            session,
            program=program,
            member_no=member_no,
            kind=kind,
            occurred_at=at,
            external_id=external_id,
            timing=Timing.replay(at),
        )


def test_caps_do_not_count_credits_dated_in_the_future(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given five reviews dated later this month, from before the bound existed: together
    # they reach the cap of 50 growth a month
    no = member["member_no"]
    for n in range(5):
        at = API_NOW + timedelta(days=5, minutes=n)
        future_credit(database, no, "review", at, f"LEGACY-{n}")

    # when a review is posted now
    posted = event(admin, no, "R-1", API_NOW, kind="review")

    # then it earns its growth: the future-dated ones do not use up this month's cap
    assert posted.status_code == 201, posted.text
    assert posted.json()["growth_awarded"] == 10


def test_decay_does_not_spare_a_member_with_a_credit_dated_in_the_future(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given growth earned a year and a half ago and a sign-in dated in 2999
    no = member["member_no"]
    rules = {**admin.get("/api/v1/growth").json(), "decay": DECAY}
    assert admin.client.put("/api/v1/growth", json=rules, headers=admin.headers).status_code == 200
    with database.session_scope() as session:
        program = program_service.get(session)
        growth_service.record(
            session,
            program=program,
            member_no=no,
            kind="profile_completed",
            occurred_at=API_NOW - timedelta(days=500),
            external_id="OLD",
            timing=Timing.replay(API_NOW - timedelta(days=500)),
        )
    in_2999 = datetime.fromisoformat("2999-01-01T08:00:00+08:00")
    future_credit(database, no, "sign_in", in_2999, "LEGACY")

    # when decay runs today
    result = CliRunner().invoke(app, ["jobs", "decay-growth"])

    # then the member's 51 growth decays by 20% (10): the 2999 sign-in does not count
    assert result.exit_code == 0, result.output
    growth = admin.get(f"/api/v1/members/{no}/ledger", asset="growth").json()["items"]
    assert (growth[0]["kind"], growth[0]["amount"]) == ("decay", -10)


def test_an_order_from_a_till_a_little_ahead_can_be_returned_at_once(
    admin: Api, member: dict[str, Any]
) -> None:
    # given an order dated 9 minutes ahead of the server's clock (a till running fast)
    ahead = (API_NOW + timedelta(minutes=9)).isoformat()
    body = order_body(member["member_no"], "O-1", occurred_at=ahead)
    assert admin.post("/api/v1/orders", body).status_code == 201

    # when it is returned straight away, without a date
    returned = admin.post("/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1"})

    # then the refund is taken, dated no earlier than its order
    assert returned.status_code == 201, returned.text
    order = admin.get("/api/v1/orders/O-1").json()
    assert order["refunds"][0]["occurred_at"] == order["occurred_at"]
