"""Bounded input: a body limit before anything reads it, bounded values, translated errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import String, func, select

from memberkit.config import settings
from memberkit.db import Base, Database
from memberkit.kit.time import iso, utcnow
from tests.rest import Api, make_key, order_body, table_contents


def recent_order(member_no: str, external_id: str, **overrides: Any) -> dict[str, Any]:
    """The contract's example order, dated an hour ago."""
    return order_body(
        member_no, external_id, occurred_at=iso(utcnow() - timedelta(hours=1)), **overrides
    )


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(settings, "max_body_bytes", 4096)
    return 4096


def test_a_declared_body_above_the_limit_is_refused_before_authentication(
    admin: Api, member: dict[str, Any], database: Database, small_limit: int
) -> None:
    # given a body of 5,000 bytes, its length declared, and no key at all
    before = table_contents(database)
    body = b'{"external_id": "' + b"x" * 5000 + b'"}'
    # when it is posted
    response = admin.client.post(
        "/api/v1/orders", content=body, headers={"Content-Type": "application/json"}
    )
    # then it is refused for its size, not for the missing key, and nothing changed
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    assert response.json()["detail"] == "请求体超过了 4096 字节的上限。"
    assert response.headers["content-type"] == "application/problem+json"
    assert table_contents(database) == before


def test_a_chunked_body_above_the_limit_is_refused(
    admin: Api, member: dict[str, Any], database: Database, small_limit: int
) -> None:
    # given a valid order padded past the limit, sent in chunks without a Content-Length
    payload = json.dumps(recent_order(member["member_no"], "O-BIG"))
    padded = (payload[:-1] + " " * 5000 + "}").encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(padded), 1000):
            yield padded[start : start + 1000]

    before = table_contents(database)
    # when it is posted with a valid key
    response = admin.client.post(
        "/api/v1/orders",
        content=chunks(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    # then it is refused and nothing changed
    assert (response.status_code, response.json()["code"]) == (413, "body_too_large")
    assert table_contents(database) == before


def test_a_chunked_body_within_the_limit_is_served(
    admin: Api, member: dict[str, Any], small_limit: int
) -> None:
    payload = json.dumps(recent_order(member["member_no"], "O-CHUNKED")).encode()

    def chunks() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    response = admin.client.post(
        "/api/v1/orders",
        content=chunks(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["points_earned"] == 60


@pytest.mark.parametrize("content", [b'{"code": "SH002", ', b"{'code': 1}", b"[1, 2"])
def test_malformed_json_is_an_unreadable_body(
    admin: Api, database: Database, content: bytes
) -> None:
    before = table_contents(database)
    response = admin.client.post(
        "/api/v1/stores",
        content=content,
        headers={**admin.headers, "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_body")
    assert response.json()["detail"] == "The request body could not be read as JSON."
    assert "errors" not in response.json()
    assert table_contents(database) == before


def test_validation_errors_name_the_field_in_the_callers_language(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order with a zero quantity, an overlong sku, a missing amount and a stray field
    body = recent_order(member["member_no"], "O-BAD")
    body["lines"] = [
        {"sku": "S" * 65, "quantity": 0, "unit_price": "1.00"},
    ]
    body["coupon"] = "X"
    before = table_contents(database)
    # when it is posted in Chinese and in English
    chinese = admin.client.post(
        "/api/v1/orders", json=body, headers={**admin.headers, "Accept-Language": "zh-CN"}
    )
    english = admin.client.post(
        "/api/v1/orders", json=body, headers={**admin.headers, "Accept-Language": "en"}
    )
    # then every fault is named with its place, in that language
    assert (chinese.status_code, chinese.json()["code"]) == (422, "validation_error")
    assert chinese.json()["errors"] == [
        {"field": "lines.0.sku", "message": "长度不得超过 64 个字符", "type": "string_too_long"},
        {"field": "lines.0.quantity", "message": "不得小于 1", "type": "greater_than_equal"},
        {"field": "lines.0.amount", "message": "此字段为必填项", "type": "missing"},
        {"field": "coupon", "message": "此处不应有该字段", "type": "extra_forbidden"},
    ]
    assert english.json()["errors"][1]["message"] == "must be at least 1"
    assert english.json()["detail"] == (
        "The request is not valid: lines.0.sku: must be at most 64 characters long; "
        "lines.0.quantity: must be at least 1; lines.0.amount: this field is required; "
        "coupon: this field is not expected here."
    )
    assert table_contents(database) == before


def test_our_own_validators_speak_the_callers_language(admin: Api, member: dict[str, Any]) -> None:
    body = recent_order(member["member_no"], "O-NEG")
    body["payments"] = [{"method": "wechat", "amount": "-60.00"}]
    response = admin.client.post(
        "/api/v1/orders", json=body, headers={**admin.headers, "Accept-Language": "zh-CN"}
    )
    assert response.json()["errors"] == [
        {"field": "payments.0.amount", "message": "金额不得为负数", "type": "value_error"}
    ]


def deep(levels: int) -> Any:
    value: Any = "1"
    for _level in range(levels):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"earning_rules": {"category_multipliers": deep(9)}},
            "earning_rules.category_multipliers.k.k.k.k.k.k: nested deeper than 8 levels",
        ),
        (
            {"earning_rules": {"category_multipliers": {f"c{n}": "1" for n in range(1001)}}},
            "earning_rules.category_multipliers: more than 1000 items",
        ),
        (
            {"earning_rules": {"excluded_categories": ["x" * 2001]}},
            "earning_rules.excluded_categories.0: text longer than 2000 characters",
        ),
        (
            {"points_validity": {"type": "rolling_days", "days": 2**63}},
            "points_validity.days: integers must lie within ±9007199254740991",
        ),
    ],
)
def test_free_form_settings_are_bounded(
    admin: Api, database: Database, change: dict[str, Any], message: str
) -> None:
    before = table_contents(database)
    response = admin.client.patch(
        "/api/v1/program", json=change, headers={**admin.headers, "Accept-Language": "en"}
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert response.json()["errors"] == [{"field": "", "message": message, "type": "value_error"}]
    assert table_contents(database) == before


def test_non_finite_numbers_are_refused(admin: Api, member: dict[str, Any]) -> None:
    response = admin.client.post(
        f"/api/v1/members/{member['member_no']}/events",
        content=b'{"type": "sign_in", "external_id": "E-1", "occurred_at": "'
        + iso(utcnow()).encode()
        + b'", "payload": {"score": NaN}}',
        headers={**admin.headers, "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert response.json()["errors"][0]["message"] == "payload.score: numbers must be finite"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/refunds", {"lines": [{"line_no": 2**62, "quantity": 1}]}),
        ("/api/v1/refunds", {"lines": [{"line_no": 1, "quantity": 2**40}]}),
        ("/api/v1/refunds", {"lines": [{"line_no": 1, "quantity": 2**70}]}),
        ("/api/v1/tiers/simulate", {"growth_thresholds": [2**62]}),
    ],
)
def test_integers_are_bounded_before_the_database(
    admin: Api, member: dict[str, Any], database: Database, path: str, body: dict[str, Any]
) -> None:
    assert admin.post("/api/v1/orders", recent_order(member["member_no"], "O-1")).status_code == 201
    if path == "/api/v1/refunds":
        body = {"external_id": "RF-1", "order_external_id": "O-1", **body}
    before = table_contents(database)
    response = admin.post(path, body)
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert table_contents(database) == before


def overlong_values(database: Database) -> list[tuple[str, str, int]]:
    """Every (table, column, longest value) where a value is longer than its column allows."""
    found = []
    with database.session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String) and column.type.length:
                    longest = session.scalar(select(func.max(func.length(column))))
                    if longest is not None and longest > column.type.length:
                        found.append((table.name, column.name, longest))
    return found


def test_the_longest_accepted_values_fit_their_columns(
    client: Any, database: Database, store: dict[str, Any]
) -> None:
    # given an admin key with the longest name allowed, and the longest ids everywhere
    key = make_key(database, "admin", name="K" * 100)
    api = Api(client, key)
    long_id = "E" * 100
    member = api.post("/api/v1/members", {"phone": "13800138000"}, **{"Idempotency-Key": "I" * 100})
    assert member.status_code == 201, member.text
    no = member.json()["member_no"]
    at = iso(utcnow() - timedelta(hours=1))
    # when every money path runs with them
    steps = [
        ("/api/v1/orders", recent_order(no, long_id), {}),
        ("/api/v1/refunds", {"external_id": long_id, "order_external_id": long_id}, {}),
        (
            f"/api/v1/members/{no}/wallet/recharges",
            {"external_id": long_id, "amount": "100.00", "method": "cash", "occurred_at": at},
            {},
        ),
        (
            f"/api/v1/members/{no}/events",
            {"type": "sign_in", "external_id": long_id, "occurred_at": at},
            {},
        ),
        (
            f"/api/v1/members/{no}/points/adjustments",
            {"points": 5, "reason": "R" * 200},
            {"Idempotency-Key": "A" * 100},
        ),
        (
            f"/api/v1/members/{no}/tier/grants",
            {
                "tier": "silver",
                "until": (utcnow() + timedelta(days=30)).date().isoformat(),
                "reason": "G" * 200,
            },
            {"Idempotency-Key": "G" * 100},
        ),
    ]
    for path, body, headers in steps:
        response = api.post(path, body, **headers)
        assert response.status_code == 201, (path, response.text)
    # then every stored string, derived ones included, fits its column
    assert overlong_values(database) == []


def test_an_external_id_with_a_slash_can_be_read_back(admin: Api, member: dict[str, Any]) -> None:
    posted = admin.post("/api/v1/orders", recent_order(member["member_no"], "POS/SH001/7"))
    assert posted.status_code == 201, posted.text
    read = admin.get("/api/v1/orders", external_id="POS/SH001/7")
    assert read.status_code == 200, read.text
    assert (read.json()["external_id"], read.json()["order_id"]) == (
        "POS/SH001/7",
        posted.json()["order_id"],
    )
    missing = admin.get("/api/v1/orders", external_id="POS/SH001")
    assert (missing.status_code, missing.json()["code"]) == (404, "order_not_found")
