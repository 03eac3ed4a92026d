"""The history import against what a hostile or careless file holds: live orders, amounts past
the cap, dates at the calendar's ends, control characters, a customer id new to a known phone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from memberkit.config import settings
from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.order import importer
from memberkit.program.service import ProgramConfig
from tests.factories import make_member
from tests.order.test_importer import messages, orders_by_id, rows
from tests.rest import Api, order_body


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def test_a_refund_row_of_a_live_order_is_refused_and_the_live_refund_stays_whole(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a live order of the member, which earned points
    posted = admin.post("/api/v1/orders", order_body(member["member_no"], "LIVE-1"))
    assert posted.status_code == 201, posted.text
    # when a history file refunds it
    answer = admin.post(
        "/api/v1/orders/import",
        {
            "rows": [
                {
                    "type": "refund",
                    "external_id": "HR-1",
                    "order_external_id": "LIVE-1",
                    "occurred_at": "2026-11-23",
                    "amount": "60.00",
                }
            ]
        },
        **{"Accept-Language": "en"},
    )
    # then the row is refused, saying where a live order is refunded, and nothing is refunded
    assert answer.status_code == 200, answer.text
    assert answer.json()["refunds"] == 0
    assert answer.json()["errors"] == [
        {
            "row": 1,
            "message": "order LIVE-1 was posted live: refund it through POST /api/v1/refunds",
        }
    ]
    order = admin.get("/api/v1/orders/LIVE-1").json()
    assert (order["refunded_amount"], order["status"]) == ("0.00", "paid")
    # and the live refund still gives back the whole order, once
    refund = admin.post(
        "/api/v1/refunds", {"external_id": "LR-1", "order_external_id": "LIVE-1", "amount": "60.00"}
    )
    assert refund.status_code == 201, refund.text
    assert admin.get("/api/v1/orders/LIVE-1").json()["refunded_amount"] == "60.00"


def test_an_order_of_nothing_or_past_the_programs_cap_is_a_row_error(database: Database) -> None:
    # when orders of 0, of just past the cap (¥50,000.00 by default) and of 10^15 are imported
    result = importer.import_rows(
        database,
        rows(
            ",H-1,,2019-05-01,,,,,,0.00,,,\n"
            ",H-2,,2019-05-01,,,,,,50000.01,,,\n"
            ",H-3,,2019-05-01,,,,,,999999999999999.99,,,\n"
            ",H-4,,2019-05-01,,,,,,50000.00,,,\n"
        ),
    )
    # then only the order at the cap goes in; the others are refused by line
    assert messages(result) == [
        (2, "amount must be more than 0"),
        (3, "amount is more than one order may come to (¥50,000.00)"),
        (4, "amount is more than one order may come to (¥50,000.00)"),
    ]
    assert set(orders_by_id(database)) == {"H-4"}


def test_dates_at_the_calendars_ends_and_odd_digits_are_row_errors(database: Database) -> None:
    result = importer.import_rows(
        database,
        rows(
            ",H-1,,0001-01-01T00:00:00+08:00,,,,,,1.00,,,\n"
            ",H-2,,9999-12-31T23:59:59-14:00,,,,,,1.00,,,\n"
            ",H-3,,0001-01-01,,,,,,1.00,,,\n"
            ",H-4,,2019-05-01,,,,,,1.00,A,c,²\n"
            ",H-5,,2019-05-01,,,,,,1.00,A,c,٣\n"
            ",H-6,,2019-05-01,,,,,,1.00,,,\n"
        ),
    )
    assert messages(result) == [
        (2, "occurred_at must be on or after 1990-01-01"),
        (3, "occurred_at is in the future"),
        (4, "occurred_at must be on or after 1990-01-01"),
        (5, "qty must be a whole number from 1 to 1000000"),
        (6, "qty must be a whole number from 1 to 1000000"),
    ]
    assert set(orders_by_id(database)) == {"H-6"}


def test_control_and_direction_characters_are_row_errors(database: Database) -> None:
    result = importer.import_rows(
        database,
        rows(
            ",H-\u202e1,,2019-05-01,,,,,,1.00,,,\n"
            ",H-2,,2019-05-01,,,,,,1.00,\u202eevil,c,\n"
            ",H-3,,2019-05-01,,,,,,1.00,A,c\u0007d,\n"
            ",H-4,,2019-05-01,,R\u202e1,13900000041,,,1.00,,,\n"
            "refund,R-\u20281,H-9,2019-05-01,,,,,,1.00,,,\n"
            ",H-6,,2019-05-01,,,,,,1.00,,,\n"
        ),
        create_members=True,
    )
    said = "holds control characters (line breaks, tabs or text-direction overrides)"
    assert messages(result) == [
        (2, f"external_id {said}"),
        (3, f"sku {said}"),
        (4, f"category {said}"),
        (5, f"external_ref {said}"),
        (6, f"external_id {said}"),
    ]
    assert set(orders_by_id(database)) == {"H-6"} and result.members_created == 0


@pytest.mark.parametrize("create_members", [True, False])
def test_a_new_customer_id_on_a_members_phone_is_that_members_order(
    database: Database, program: ProgramConfig, create_members: bool
) -> None:
    # given a member enrolled with a phone, and another row with a new customer and phone
    with database.session_scope() as session:
        known = make_member(session, program, phone="13900000031").id
        members_before = session.scalar(select(func.count()).select_from(Member))
    # when the old system's file names them by a customer id Memberkit does not know
    result = importer.import_rows(
        database,
        rows(
            ",H-1,,2019-05-01,,OLD-7,13900000031,,,10.00,,,\n"
            ",H-2,,2019-05-02,,OLD-7,13900000031,,,20.00,,,\n"
            ",H-3,,2019-05-03,,OLD-8,13900000032,,,30.00,,,\n"
        ),
        create_members=create_members,
    )
    # then the phone's member has both orders; only the unknown phone may be enrolled
    stored = orders_by_id(database)
    assert stored["H-1"][0] == stored["H-2"][0] == known
    with database.session_scope() as session:
        members_after = session.scalar(select(func.count()).select_from(Member))
    if create_members:
        assert (result.orders, result.members_created, messages(result)) == (3, 1, [])
        assert members_after == members_before + 1
    else:
        assert (result.orders, result.members_created) == (2, 0)
        assert messages(result) == [(4, "no member has customer id OLD-8")]
        assert members_after == members_before


def test_a_history_order_is_refused_by_the_live_refund_saying_where_it_is_refunded(
    admin: Api,
) -> None:
    # given a history order of ¥5.00 (no lines)
    imported = admin.post(
        "/api/v1/orders/import",
        {"rows": [{"external_id": "OLD-5", "occurred_at": "2019-05-01", "amount": "5.00"}]},
    )
    assert imported.json()["orders"] == 1
    # when the live API is asked to refund part of it
    refused = admin.post(
        "/api/v1/refunds",
        {"external_id": "LR-OLD", "order_external_id": "OLD-5", "amount": "1.00"},
        **{"Accept-Language": "en"},
    )
    # then it is refused, saying how such an order is refunded, and nothing is refunded
    assert (refused.status_code, refused.json()["code"]) == (422, "history_order_refund")
    assert "refund row of the history import" in refused.json()["detail"]
    assert admin.get("/api/v1/orders/OLD-5").json()["refunded_amount"] == "0.00"


def test_a_row_held_before_with_another_amount_is_a_row_error_not_a_replay(
    database: Database,
) -> None:
    # given an order and its refund imported
    first = importer.import_rows(
        database,
        rows(",H-1,,2019-05-01,,,,,,10.00,,,\nrefund,R-1,H-1,2019-05-02,,,,,,4.00,,,\n"),
    )
    assert (first.orders, first.refunds, messages(first)) == (1, 1, [])
    # when a corrected re-export names them with other amounts (and repeats a row exactly)
    again = importer.import_rows(
        database,
        rows(
            ",H-1,,2019-05-01,,,,,,99.00,,,\n"
            "refund,R-1,H-1,2019-05-02,,,,,,5.00,,,\n"
            ",H-2,,2019-05-01,,,,,,7.00,,,\n"
            ",H-2,,2019-05-01,,,,,,8.00,,,\n"
            ",H-1,,2019-05-01,,,,,,10.00,,,\n"
        ),
    )
    # then the exact repeat is already present, the others are refused saying what is held
    assert (again.orders, again.already_present) == (1, 1)
    assert messages(again) == [
        (2, "H-1 was imported before with amount ¥10.00: left as it was"),
        (3, "R-1 was imported before with amount ¥4.00: left as it was"),
        (5, "H-2 was imported before with amount ¥7.00: left as it was"),
    ]
    stored = orders_by_id(database)
    assert (stored["H-1"][1], stored["H-1"][2], stored["H-2"][1]) == (1000, 400, 700)
