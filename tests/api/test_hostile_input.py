"""Hostile and absurd input found by fuzzing: always a 4xx problem, never a 500, no change."""

from __future__ import annotations

from typing import Any

import pytest

from memberkit.db import Database
from tests.rest import Api, order_body, table_contents


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/%00",
        "/api/v1/stores/%00",
        "/api/v1/stores?city=%00",
        "/api/v1/orders/a%00b",
    ],
)
def test_nul_in_the_address_is_refused(admin: Api, path: str) -> None:
    response = admin.client.get(path, headers=admin.headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_characters")


def test_nul_in_a_body_is_refused(admin: Api, member: dict[str, Any], database: Database) -> None:
    before = table_contents(database)
    body = order_body(member["member_no"], "O-\x00")
    response = admin.post("/api/v1/orders", body)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    named = admin.patch(f"/api/v1/members/{member['member_no']}", {"name": "a\x00b"})
    assert named.status_code == 422
    assert table_contents(database) == before


@pytest.mark.parametrize(
    "change",
    [
        {"occurred_at": "0001-01-01T00:00:00+14:00"},
        {"occurred_at": "1999-12-31T23:59:59+00:00"},
        {"occurred_at": "0"},
        {
            "lines": [
                {"sku": "A", "quantity": 1, "unit_price": "100000000.01", "amount": "100000000.01"}
            ],
            "payments": [{"method": "cash", "amount": "100000000.01"}],
        },
        {"lines": [{"sku": "A", "quantity": 10**12, "unit_price": "1.00", "amount": "1.00"}]},
    ],
)
def test_implausible_orders_are_refused(
    admin: Api, member: dict[str, Any], database: Database, change: dict[str, Any]
) -> None:
    before = table_contents(database)
    body = order_body(member["member_no"], "O-1")
    body.update(change)
    response = admin.post("/api/v1/orders", body)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error"), (
        response.text
    )
    assert table_contents(database) == before


@pytest.mark.parametrize("params", [{"from": "0001-01-01"}, {"to": "9999-12-31"}])
def test_statement_dates_out_of_range(
    admin: Api, member: dict[str, Any], params: dict[str, str]
) -> None:
    response = admin.get(f"/api/v1/members/{member['member_no']}/ledger", **params)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


@pytest.mark.parametrize(
    "settings",
    [
        {"earning_rules": {"rounding": []}},
        {"earning_rules": {"rounding": {}}},
        {"earning_rules": {"min_order_amount": "1e999999"}},
        {"earning_rules": {"points_per_unit": "1e999990"}},
        {"earning_rules": {"points_per_unit": "1e20"}},
        {"earning_rules": {"category_multipliers": {"": "1e999999"}}},
        {"earning_rules": {"min_order_amount": [0, [1], 0]}},
        {"earning_rules": {"date_multipliers": [{"weekday": 3, "multiplier": "2", "name": {}}]}},
        {"points_validity": {"type": "rolling_days", "days": 10_000_000}},
        {"points_validity": {"type": "never", "bogus": 1}},
    ],
)
def test_absurd_program_settings_are_refused(
    admin: Api, database: Database, settings: dict[str, Any]
) -> None:
    before = admin.get("/api/v1/program").json()
    response = admin.patch("/api/v1/program", settings)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_program_settings"), (
        response.text
    )
    assert admin.get("/api/v1/program").json() == before


@pytest.mark.parametrize("value", [True, 1.0, "7"])
def test_points_rate_must_be_a_whole_number(admin: Api, value: Any) -> None:
    response = admin.patch("/api/v1/program", {"points_per_currency_unit": value})
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_protocol_errors_carry_their_headers(admin: Api, member: dict[str, Any]) -> None:
    not_allowed = admin.client.delete(
        f"/api/v1/members/{member['member_no']}", headers=admin.headers
    )
    assert not_allowed.status_code == 405
    assert "GET" in not_allowed.headers["allow"]
    anonymous = admin.client.get("/api/v1/stores")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    unreadable = admin.client.post(
        "/api/v1/stores",
        content=b'{"code": "\xff"}',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert (unreadable.status_code, unreadable.json()["code"]) == (400, "invalid_body")


def test_key_separators_cannot_collide(admin: Api, member: dict[str, Any]) -> None:
    path = f"/api/v1/members/{member['member_no']}:x/points/adjustments"
    response = admin.post(path, {"points": 1, "reason": "r"}, **{"Idempotency-Key": "y"})
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    too_long = admin.post(
        f"/api/v1/members/{member['member_no']}/points/adjustments",
        {"points": 1, "reason": "r"},
        **{"Idempotency-Key": "k" * 101},
    )
    assert too_long.status_code == 422


def test_closed_members_cannot_be_credited_nor_get_a_card_token(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    admin.patch(f"/api/v1/members/{no}", {"status": "closed"})
    before = table_contents(database)
    credit = admin.post(
        f"/api/v1/members/{no}/points/adjustments",
        {"points": 5, "reason": "x"},
        **{"Idempotency-Key": "c1"},
    )
    assert (credit.status_code, credit.json()["code"]) == (409, "member_closed")
    token = admin.post(f"/api/v1/members/{no}/qr-token", {})
    assert (token.status_code, token.json()["code"]) == (409, "member_inactive")
    assert table_contents(database) == before


def test_openapi_documents_problem_responses(admin: Api) -> None:
    spec = admin.client.get("/openapi.json").json()
    responses = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert {"201", "200", "401", "403", "404", "409", "422"} <= set(responses)
    assert "application/problem+json" in responses["409"]["content"]
