"""Stateful fuzzing over HTTP: valid and mutated requests on the money paths, never a 500.

A Hypothesis state machine drives the real app through the TestClient: it creates stores and
members, then posts orders (paid in cash, points or stored value), refunds, recharges,
behaviour events and point adjustments — each either valid or mutated (a field dropped,
replaced by arbitrary JSON, or the body replaced altogether) — and replays some of them. Every
response must be below 500, and ``memberkit ledger check`` must be clean after every run.

The normal suite runs a bounded size; set MEMBERKIT_FUZZ_EXAMPLES (runs, default 8) and
MEMBERKIT_FUZZ_STEPS (steps per run, default 25) for a longer search.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
)

from memberkit.db import Database
from memberkit.kit.money import format_money
from memberkit.kit.time import iso, utcnow
from memberkit.ledger.check import check
from tests.conftest import _reset as reset
from tests.rest import Api, make_key

EXAMPLES = int(os.environ.get("MEMBERKIT_FUZZ_EXAMPLES", "8"))
STEPS = int(os.environ.get("MEMBERKIT_FUZZ_STEPS", "25"))

#: Arbitrary JSON, extremes included: what a careless or hostile client may send anywhere.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 2**31, 2**53, 2**63, -(2**63) - 1, 10**30])
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", " ", "1e999", "-0.00", "60.001", "NaN", "\x00", "x" * 300]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
amounts = st.integers(min_value=1, max_value=50_000)
recent = st.integers(min_value=0, max_value=60 * 24 * 7).map(
    lambda minutes: iso(utcnow() - timedelta(minutes=minutes))
)


def sometimes(values: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    """Zero two times in three, else one of ``values``."""
    return st.sampled_from([0, 0, None]).flatmap(lambda z: values if z is None else st.just(0))


@st.composite
def mutated(draw: st.DrawFn, body: dict[str, Any]) -> Any:
    """``body`` as it is, or with one field dropped, added or replaced, another body entirely,
    or its JSON cut short."""
    kinds = ["drop", "replace", "add", "nested", "other", "truncated"]
    how = draw(st.sampled_from(["as is"] * 5 + kinds))
    if how == "as is" or not body:
        return body
    if how == "truncated":  # not JSON at all: bytes sent as they are
        text = json.dumps(body).encode()
        return text[: draw(st.integers(0, len(text) - 1))]
    keys = sorted(body)
    if how == "drop":
        return {k: v for k, v in body.items() if k != draw(st.sampled_from(keys))}
    if how == "replace":
        return {**body, draw(st.sampled_from(keys)): draw(json_values)}
    if how == "add":
        return {**body, draw(st.text(min_size=1, max_size=8)): draw(json_values)}
    if how == "nested":
        key = draw(st.sampled_from(keys))
        value = body[key]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            inner = value[0]
            field = draw(st.sampled_from(sorted(inner)))
            return {**body, key: [{**inner, field: draw(json_values)}, *value[1:]]}
        return {**body, key: draw(json_values)}
    return draw(json_values)


class MoneyPaths(RuleBasedStateMachine):
    """Stores, members and their money, driven over HTTP."""

    database: Database
    client: TestClient

    stores = Bundle("stores")
    members = Bundle("members")
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.serial = 0
        self.created = {"stores": 0, "members": 0}
        self.last: tuple[str, str, Any, dict[str, str]] | None = None

    @initialize()
    def fresh_database(self) -> None:
        reset(self.database)
        self.api = Api(self.client, make_key(self.database, "admin"))

    def send(self, method: str, path: str, body: Any, **headers: str) -> Any:
        """Send one request; whatever it holds, the answer is not a server error."""
        # Python's json writes NaN and Infinity, as careless clients do; httpx would refuse them.
        if body is None or isinstance(body, bytes):
            content = body
        else:
            content = json.dumps(body).encode()
        response = self.api.client.request(
            method,
            path,
            content=content,
            headers={**self.api.headers, "Content-Type": "application/json", **headers},
        )
        assert response.status_code < 500, (method, path, body, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"]
        self.last = (method, path, body, headers)
        return response

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    @precondition(lambda self: self.created["stores"] < 3)
    @rule(target=stores, city=st.sampled_from(["上海", "北京", ""]))
    def create_store(self, city: str) -> str:
        self.created["stores"] += 1
        code = self.next_id("S")
        response = self.send(
            "POST", "/api/v1/stores", {"code": code, "name": f"店 {code}", "city": city}
        )
        assert response.status_code == 201, response.text
        return code

    @precondition(lambda self: self.created["members"] < 4)
    @rule(target=members, store=stores)
    def register(self, store: str) -> str:
        self.created["members"] += 1
        self.serial += 1
        body = {"phone": f"138{self.serial:08d}", "name": "会员", "store_code": store}
        response = self.send("POST", "/api/v1/members", body)
        assert response.status_code == 201, response.text
        return str(response.json()["member_no"])

    @rule(
        target=orders,
        member=members,
        store=stores,
        cash=amounts,
        points=sometimes(st.integers(1, 3_000)),
        wallet=sometimes(st.integers(1, 5_000)),
        at=recent,
        data=st.data(),
    )
    def post_order(
        self, member: str, store: str, cash: int, points: int, wallet: int, at: str, data: Any
    ) -> MultipleResults[str]:
        external_id = self.next_id("O")
        total = cash + points + wallet  # 100 points are 1 yuan: one point pays one fen
        payments: list[dict[str, Any]] = [{"method": "wechat", "amount": format_money(cash)}]
        if points:
            payments.append({"method": "points", "points": points})
        if wallet:
            payments.append({"method": "wallet", "amount": format_money(wallet)})
        body = {
            "external_id": external_id,
            "member_no": member,
            "store_code": store,
            "occurred_at": at,
            "lines": [
                {
                    "sku": "A1",
                    "category": "coffee",
                    "quantity": 1,
                    "unit_price": format_money(total),
                    "amount": format_money(total),
                }
            ],
            "payments": payments,
        }
        response = self.send("POST", "/api/v1/orders", data.draw(mutated(body)))
        return multiple(external_id) if response.status_code == 201 else multiple()

    @rule(
        order=orders,
        how=st.sampled_from(["rest", "amount", "lines"]),
        amount=amounts,
        data=st.data(),
    )
    def refund(self, order: str, how: str, amount: int, data: Any) -> None:
        body: dict[str, Any] = {"external_id": self.next_id("R"), "order_external_id": order}
        if how == "amount":
            body["amount"] = format_money(amount)
        elif how == "lines":
            body["lines"] = [{"line_no": 1, "quantity": 1}]
        self.send("POST", "/api/v1/refunds", data.draw(mutated(body)))

    @rule(
        member=members,
        amount=st.integers(1, 200_000),
        method=st.sampled_from(["cash", "wechat", "points"]),
        at=recent,
        data=st.data(),
    )
    def recharge(self, member: str, amount: int, method: str, at: str, data: Any) -> None:
        body = {
            "external_id": self.next_id("W"),
            "amount": format_money(amount),
            "method": method,
            "occurred_at": at,
        }
        self.send("POST", f"/api/v1/members/{member}/wallet/recharges", data.draw(mutated(body)))

    @rule(
        member=members,
        kind=st.sampled_from(["sign_in", "share", "review", "birthday"]),
        at=recent,
        data=st.data(),
    )
    def event(self, member: str, kind: str, at: str, data: Any) -> None:
        body = {"type": kind, "external_id": self.next_id("E"), "occurred_at": at}
        self.send("POST", f"/api/v1/members/{member}/events", data.draw(mutated(body)))

    @rule(member=members, points=st.integers(1, 5_000) | st.integers(-5_000, 0), data=st.data())
    def adjust(self, member: str, points: int, data: Any) -> None:
        body = {"points": points, "reason": "fuzz"}
        self.send(
            "POST",
            f"/api/v1/members/{member}/points/adjustments",
            data.draw(mutated(body)),
            **{"Idempotency-Key": self.next_id("A")},
        )

    @rule(member=members, data=st.data())
    def read_back(self, member: str, data: Any) -> None:
        path = data.draw(
            st.sampled_from(
                [
                    f"/api/v1/members/{member}",
                    f"/api/v1/members/{member}/points",
                    f"/api/v1/members/{member}/ledger",
                    f"/api/v1/members/{member}/wallet",
                    f"/api/v1/members/{member}/tier",
                ]
            )
        )
        response = self.send("GET", path, None)
        assert response.status_code == 200, response.text

    @rule()
    def replay(self) -> None:
        """The last request again: a replay is answered, never a server error."""
        if self.last is not None:
            method, path, body, headers = self.last
            self.send(method, path, body, **headers)

    def teardown(self) -> None:
        """The ledger holds, whatever was sent."""
        if hasattr(self, "api"):
            with self.database.session_scope() as session:
                report = check(session)
            assert report.problems == []


def test_money_paths_never_answer_a_server_error(client: TestClient, database: Database) -> None:
    MoneyPaths.database = database
    MoneyPaths.client = client
    run = MoneyPaths.TestCase
    run.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run().runTest()
