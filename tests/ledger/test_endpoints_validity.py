"""Points keep the validity they had: refunds, claw-backs and debits (issue 7, class 1).

Points are valid 30 days here. The member earns 600 points on 2026-10-25, valid through
2026-11-24 (they expire at 2026-11-25 00:00 in Shanghai); the clock then moves on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import time_machine

from memberkit.db import Database
from tests.conftest import set_rules
from tests.rest import Api, order_body, table_contents

EARNED_ON = "2026-10-25"
EXPIRES = "2026-11-25T00:00:00+08:00"


def on(clock: time_machine.Coordinates, moment: str) -> str:
    """Travel to ``moment`` (local ISO time); returns it, to date a request then."""
    clock.move_to(datetime.fromisoformat(moment))
    return moment


def buy(admin: Api, no: str, external_id: str, at: str, *, cash: str, points: int = 0) -> Any:
    amount = f"{float(cash) + points / 100:.2f}"
    payments: list[dict[str, Any]] = (
        [{"method": "wechat", "amount": cash}] if cash != "0.00" else []
    )
    if points:
        payments.append({"method": "points", "points": points})
    body = order_body(
        no,
        external_id,
        occurred_at=at,
        lines=[{"sku": "M1", "quantity": 1, "unit_price": amount, "amount": amount}],
        payments=payments,
    )
    response = admin.post("/api/v1/orders", body)
    assert response.status_code == 201, response.text
    return response.json()


def refund(admin: Api, external_id: str, order: str, **extra: Any) -> Any:
    return admin.post(
        "/api/v1/refunds", {"external_id": external_id, "order_external_id": order, **extra}
    )


def lots(admin: Api, no: str) -> list[tuple[int, str]]:
    view = admin.get(f"/api/v1/members/{no}/points").json()
    return [(lot["remaining"], lot["expires_at"]) for lot in view["lots"]]


def history(admin: Api, no: str) -> list[tuple[str, int, int]]:
    items = admin.get(f"/api/v1/members/{no}/ledger").json()["items"]
    return [(i["kind"], i["amount"], i["balance_after"]) for i in items]


@pytest.fixture
def earned(
    admin: Api, member: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> str:
    """The member holds 600 points expiring at 2026-11-25 00:00 (local)."""
    set_rules(database, points_validity={"type": "rolling_days", "days": 30})
    no = member["member_no"]
    buy(admin, no, "O-1", on(clock, f"{EARNED_ON}T12:00:00+08:00"), cash="600.00")
    assert lots(admin, no) == [(600, EXPIRES)]
    return no


def test_points_returned_by_a_refund_keep_the_expiry_they_had(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given 500 of the 600 points expiring in two days pay for an order
    at = on(clock, "2026-11-23T12:00:00+08:00")
    paid = buy(admin, earned, "O-2", at, cash="0.00", points=500)
    assert paid["points_balance"] == 100

    # when the order is returned
    returned = refund(admin, "RF-2", "O-2")

    # then the 500 points come back expiring when they would have, not a year later
    assert returned.status_code == 201, returned.text
    assert returned.json()["points_returned"] == 500
    assert lots(admin, earned) == [(100, EXPIRES), (500, EXPIRES)]

    # and once that moment passes they are gone, whether or not the job has run
    on(clock, "2026-11-25T00:00:01+08:00")
    assert admin.get(f"/api/v1/members/{earned}").json()["points_balance"] == 0
    assert lots(admin, earned) == []
    expiring = admin.get("/api/v1/points/expiring", within_days=30).json()
    assert (expiring["members"], expiring["points"]) == (0, 0)


def test_points_returned_after_their_expiry_are_expired_at_once_and_visibly(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given 500 points that expire on the 25th paid for an order on the 23rd
    buy(admin, earned, "O-2", on(clock, "2026-11-23T12:00:00+08:00"), cash="0.00", points=500)

    # when the order is returned on the 26th
    on(clock, "2026-11-26T10:00:00+08:00")
    returned = refund(admin, "RF-2", "O-2")

    # then the points come back and expire in the same breath: the statement shows both
    assert returned.status_code == 201, returned.text
    assert (returned.json()["points_returned"], returned.json()["points_balance"]) == (500, 0)
    assert history(admin, earned)[:3] == [
        ("expire", -500, 0),
        ("refund", 500, 500),
        ("expire", -100, 0),
    ]
    assert lots(admin, earned) == []


def test_a_full_refund_of_an_order_whose_points_expired_takes_nothing_from_newer_points(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given O-1's 600 points expired on the 25th and a newer order earned 60
    buy(admin, earned, "O-2", on(clock, "2026-11-24T12:00:00+08:00"), cash="60.00")
    on(clock, "2026-11-26T10:00:00+08:00")

    # when O-1 is refunded in full (the expiry job has not run)
    returned = refund(admin, "RF-1", "O-1")

    # then nothing is taken a second time: the newer 60 points stay
    assert returned.status_code == 201, returned.text
    body = returned.json()
    assert (body["points_reversed"], body["points_already_expired"]) == (0, 600)
    assert (body["points_balance"], body["points_debt"]) == (60, 0)
    assert lots(admin, earned) == [(60, "2026-12-25T00:00:00+08:00")]


def test_only_the_spent_part_of_an_expired_order_lot_becomes_a_debt(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given 200 of O-1's 600 points were spent and the other 400 expired
    buy(admin, earned, "O-2", on(clock, "2026-11-20T12:00:00+08:00"), cash="0.00", points=200)
    on(clock, "2026-11-26T10:00:00+08:00")

    # when O-1 is refunded in full
    returned = refund(admin, "RF-1", "O-1").json()

    # then the 400 lost to expiry are not taken again; the 200 spent become a debt
    assert (returned["points_reversed"], returned["points_already_expired"]) == (200, 400)
    assert (returned["points_balance"], returned["points_debt"]) == (-200, 200)


def test_a_claw_back_takes_from_its_own_order_lot_first(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given a newer order's lot that expires later than O-1's, and O-1 refunded by half
    buy(admin, earned, "O-2", on(clock, "2026-11-20T12:00:00+08:00"), cash="100.00")

    # when O-1 is refunded by half
    returned = refund(admin, "RF-1", "O-1", amount="300.00").json()

    # then its own lot gives the 300, the newer one keeps all its points
    assert returned["points_reversed"] == 300
    assert lots(admin, earned) == [(300, EXPIRES), (100, "2026-12-21T00:00:00+08:00")]


def test_a_refund_dated_before_its_order_is_refused_and_changes_nothing(
    admin: Api, earned: str, database: Database
) -> None:
    before = table_contents(database)
    refused = refund(admin, "RF-1", "O-1", occurred_at="2026-10-25T11:59:00+08:00")
    assert (refused.status_code, refused.json()["code"]) == (422, "refund_before_order")
    assert "2026-10-25T11:59:00+08:00" in refused.json()["detail"]
    assert table_contents(database) == before


def test_a_hand_debit_cannot_spend_points_past_their_expiry_before_the_job_runs(
    admin: Api, earned: str, database: Database, clock: time_machine.Coordinates
) -> None:
    # given the 600 points are past their expiry and the job has not run
    on(clock, "2026-11-25T09:00:00+08:00")
    assert admin.get("/api/v1/points/expiring", within_days=30).json()["points"] == 0

    # when an operator debits 100 of them
    before = table_contents(database)
    path = f"/api/v1/members/{earned}/points/adjustments"
    refused = admin.post(path, {"points": -100, "reason": "误加"}, **{"Idempotency-Key": "a1"})

    # then there are none to debit, and nothing changed
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_points")
    assert table_contents(database) == before


def test_points_returned_and_then_expired_are_still_the_orders_own(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given O-1's 600 points paid for O-2, and O-2 returned before they expired: the points
    # are O-1's again, in a lot of their own with O-1's expiry; a newer order earned 60
    buy(admin, earned, "O-2", on(clock, "2026-11-23T12:00:00+08:00"), cash="0.00", points=600)
    assert refund(admin, "RF-2", "O-2").status_code == 201
    buy(admin, earned, "O-3", on(clock, "2026-11-24T12:00:00+08:00"), cash="60.00")
    assert lots(admin, earned) == [(600, EXPIRES), (60, "2026-12-25T00:00:00+08:00")]

    # when O-1 is refunded after its points expired
    on(clock, "2026-11-26T10:00:00+08:00")
    returned = refund(admin, "RF-1", "O-1").json()

    # then they count as O-1's expired points: nothing is taken from O-3's, no debt arises
    assert (returned["points_reversed"], returned["points_already_expired"]) == (0, 600)
    assert (returned["points_balance"], returned["points_debt"]) == (60, 0)


def test_points_returned_after_their_expiry_still_count_for_their_orders_claw_back(
    admin: Api, earned: str, clock: time_machine.Coordinates
) -> None:
    # given O-1's 600 points paid for O-2, and O-2 returned after they expired
    buy(admin, earned, "O-2", on(clock, "2026-11-23T12:00:00+08:00"), cash="0.00", points=600)
    on(clock, "2026-11-26T10:00:00+08:00")
    assert refund(admin, "RF-2", "O-2").json()["points_balance"] == 0

    # when O-1 is refunded too
    returned = refund(admin, "RF-1", "O-1").json()

    # then nothing stays spent, so nothing is owed
    assert (returned["points_reversed"], returned["points_already_expired"]) == (0, 600)
    assert returned["points_debt"] == 0


def test_a_back_dated_order_whose_points_already_expired_pays_off_no_debt(
    admin: Api, member: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> None:
    # given points valid one day, and a debt of 100: O-1's points were spent, O-1 returned
    set_rules(database, points_validity={"type": "rolling_days", "days": 1})
    no = member["member_no"]
    buy(admin, no, "O-1", on(clock, "2026-11-20T12:00:00+08:00"), cash="100.00")
    buy(admin, no, "O-2", on(clock, "2026-11-20T13:00:00+08:00"), cash="0.00", points=100)
    assert refund(admin, "RF-1", "O-1").json()["points_debt"] == 100

    # when a till posts, three days late, an order whose points expired on the 22nd
    on(clock, "2026-11-23T12:00:00+08:00")
    late = buy(admin, no, "O-3", "2026-11-20T15:00:00+08:00", cash="50.00")

    # then its 50 points expire at once instead of paying the debt, and every read agrees
    assert (late["points_earned"], late["points_balance"]) == (50, -100)
    assert admin.get(f"/api/v1/members/{no}").json()["points_balance"] == -100
    assert history(admin, no)[:2] == [("expire", -50, -100), ("earn", 50, -50)]
