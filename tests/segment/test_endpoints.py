"""Segments through the API: define, count while editing, members, history, refresh, upload."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from memberkit.analytics.models import MemberRfm
from memberkit.db import Database
from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.member.models import Member
from tests.rest import Api, make_key, table_contents

VIP = {"all": [{"field": "tag", "op": "any_of", "value": ["vip"]}]}


def register(admin: Api, phone: str, **fields: Any) -> dict[str, Any]:
    response = admin.post("/api/v1/members", {"phone": phone, **fields})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_count_of_an_unsaved_rule_previews_members_masked(
    admin: Api, store: dict[str, Any], client: TestClient, database: Database
) -> None:
    # Given two vips, one of store SH001, and a reading key
    ann = register(admin, "13800138001", name="张三", tags=["vip"], store_code="SH001")
    register(admin, "13800138002", tags=["vip"])
    register(admin, "13800138003")
    reader = Api(client, make_key(database, "read"))
    # When the reader counts vips
    counted = reader.post("/api/v1/segments/count", {"definition": VIP})
    # Then both are counted, and the preview masks their phones and names
    assert counted.status_code == 200, counted.text
    body = counted.json()
    assert body["count"] == 2
    assert body["preview"][0] == {
        "member_no": ann["member_no"],
        "phone": "138****8001",
        "name": "张*",
        "tier": body["preview"][0]["tier"],
        "store": "SH001",
        "since": None,
    }
    # And an admin key sees them unmasked
    shown = admin.post("/api/v1/segments/count", {"definition": VIP}).json()["preview"][0]
    assert (shown["phone"], shown["name"]) == ("13800138001", "张三")
    # And a key bound to SH001 counts SH001's members only
    bound = Api(client, make_key(database, "read", "SH001", name="sh001"))
    assert bound.post("/api/v1/segments/count", {"definition": VIP}).json()["count"] == 1


def test_a_bad_rule_is_refused_naming_where_in_the_callers_language(
    admin: Api, database: Database
) -> None:
    before = table_contents(database)
    bad = {"definition": {"all": [VIP["all"][0], {"field": "colour", "op": "eq", "value": 1}]}}
    refused = admin.post("/api/v1/segments", {"name": "X", **bad})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_segment_definition"
    zh = admin.post("/api/v1/segments/count", bad, **{"Accept-Language": "zh-CN"})
    assert zh.status_code == 422
    assert "all[1]：未知字段 colour" in zh.json()["detail"]
    assert table_contents(database) == before


def test_a_segment_is_made_listed_refreshed_and_its_history_read(
    admin: Api, client: TestClient, database: Database
) -> None:
    ann = register(admin, "13800138001", tags=["vip"])
    made = admin.post("/api/v1/segments", {"name": "VIP", "definition": VIP})
    assert made.status_code == 201, made.text
    segment = made.json()
    assert (segment["kind"], segment["member_count"]) == ("rule", 1)
    bob = register(admin, "13800138002", tags=["vip"])
    refreshed = admin.post(f"/api/v1/segments/{segment['id']}/refresh", {})
    assert refreshed.json() == {"entered": 1, "left": 0, "member_count": 2}
    page = admin.get(f"/api/v1/segments/{segment['id']}/members", limit=1).json()
    assert (page["total"], [m["member_no"] for m in page["items"]]) == (2, [ann["member_no"]])
    rest = admin.get(f"/api/v1/segments/{segment['id']}/members", after=page["next_after"]).json()
    assert [m["member_no"] for m in rest["items"]] == [bob["member_no"]]
    history = admin.get(f"/api/v1/segments/{segment['id']}/history").json()
    assert [(h["member_no"], h["change"]) for h in history["items"]] == [
        (bob["member_no"], "entered"),
        (ann["member_no"], "entered"),
    ]
    # A reading key may read but not change
    reader = Api(client, make_key(database, "read"))
    assert [s["name"] for s in reader.get("/api/v1/segments").json()] == ["VIP"]
    assert reader.post(f"/api/v1/segments/{segment['id']}/refresh", {}).status_code == 403
    # Deleting archives it
    deleted = client.delete(f"/api/v1/segments/{segment['id']}", headers=admin.headers)
    assert deleted.status_code == 204
    assert admin.get(f"/api/v1/segments/{segment['id']}").status_code == 404
    assert admin.get("/api/v1/segments").json() == []


def test_a_static_segment_is_filled_from_lines(admin: Api) -> None:
    ann = register(admin, "13800138001")
    made = admin.post("/api/v1/segments", {"name": "List", "kind": "static"}).json()
    uploaded = admin.post(
        f"/api/v1/segments/{made['id']}/members",
        {"lines": ["member_no", ann["member_no"], "13800138002"]},
    )
    assert uploaded.json() == {"added": 1, "found": 1, "unknown": ["13800138002"]}
    assert admin.get(f"/api/v1/segments/{made['id']}").json()["member_count"] == 1


def _insights(database: Database, rows: dict[str, tuple[str, str, int, int, int]]) -> None:
    """Give members (by card number) an RFM row and a forecast, as the refresh and fit write."""
    with database.session_scope() as session:
        fit = session.execute(
            insert(ForecastFit).values(
                program_id=1, as_of=date(2026, 6, 1), status="ok", diagnostics={}
            )
        ).inserted_primary_key[0]
        for member_no, (rfm_class, state, alive, purchases, value) in rows.items():
            member_id = session.scalar(select(Member.id).where(Member.member_no == member_no))
            session.execute(
                insert(MemberRfm).values(
                    member_id=member_id, program_id=1, as_of=date(2026, 6, 1), frequency=1,
                    monetary_minor=value, r_score=3, f_score=3, m_score=3, rfm_class=rfm_class,
                    lifecycle=state,
                )
            )  # fmt: skip
            session.execute(
                insert(MemberForecast).values(
                    program_id=1, member_id=member_id, fit_id=fit, p_alive_ppm=alive,
                    expected_purchases_90d_milli=purchases, expected_value_12m_minor=value,
                )
            )  # fmt: skip


def test_ready_segments_are_listed_and_made_from_the_members_rfm_and_forecast(
    admin: Api, client: TestClient, database: Database
) -> None:
    # Given Ann (important, churn risk 60 %), Bob (new, ¥800 expected) and Cat (new, ¥300)
    ann, bob, cat = (register(admin, f"1380013800{n}")["member_no"] for n in (1, 2, 3))
    _insights(
        database,
        {
            ann: ("important_keep", "active", 400_000, 300, 20000),
            bob: ("general_value", "new", 900_000, 1500, 80000),
            cat: ("important_value", "new", 950_000, 2000, 30000),
        },
    )
    # When the ready segments are listed in Chinese, then all three are named in Chinese
    listed = admin.get("/api/v1/segments/ready", **{"Accept-Language": "zh-CN"}).json()
    assert [r["key"] for r in listed] == [
        "high_value_at_risk",
        "likely_to_buy_soon",
        "new_high_value",
    ]
    assert listed[0]["name"] == "高价值流失预警"
    # When each is made, then it holds exactly its members
    found = {}
    for key in ("high_value_at_risk", "likely_to_buy_soon", "new_high_value"):
        made = admin.post(f"/api/v1/segments/ready/{key}", {})
        assert made.status_code == 201, made.text
        page = admin.get(f"/api/v1/segments/{made.json()['id']}/members").json()
        found[key] = {m["member_no"] for m in page["items"]}
    assert found == {
        "high_value_at_risk": {ann},
        "likely_to_buy_soon": {bob, cat},
        "new_high_value": {bob},
    }
    # And an unknown key, or a reading key, changes nothing
    reader = Api(client, make_key(database, "read"))
    before = table_contents(database)
    unknown = admin.post("/api/v1/segments/ready/nope", {})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "ready_segment_not_found")
    assert reader.post("/api/v1/segments/ready/new_high_value", {}).status_code == 403
    assert table_contents(database) == before


HUGE = 99999999999999999999


def test_every_segment_address_with_an_id_beyond_the_database_is_refused_not_failed(
    admin: Api, client: TestClient, database: Database
) -> None:
    # Given a static segment and ids beyond any database integer, zero and an unknown one
    made = admin.post("/api/v1/segments", {"name": "List", "kind": "static"}).json()
    before = table_contents(database)
    for segment_id in (HUGE, 2**63, 2**62, 2**31, 0, -1):
        base = f"/api/v1/segments/{segment_id}"
        answers = [
            admin.get(base),
            admin.patch(base, {"name": "X"}),
            client.delete(base, headers=admin.headers),
            admin.get(f"{base}/members"),
            admin.get(f"{base}/history"),
            admin.post(f"{base}/refresh", {}),
            admin.post(f"{base}/members", {"lines": ["13800138001"]}),
        ]
        # Then each is a 422 naming the path, never a 500
        assert [a.status_code for a in answers] == [422] * 7, segment_id
    # And so are pages after or before ids beyond the database's
    base = f"/api/v1/segments/{made['id']}"
    for page, bound in (("members", {"after": HUGE}), ("members", {"after": 2**31})):
        assert admin.get(f"{base}/{page}", **bound).status_code == 422, bound
    assert admin.get(f"{base}/history", before=2**31).status_code == 422
    unknown = admin.get(f"/api/v1/segments/{2**31 - 1}")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "segment_not_found")
    assert admin.get(f"/api/v1/segments/{made['id']}").status_code == 200
    assert table_contents(database) == before


@pytest.mark.parametrize(
    "definition",
    [
        {"all": [{"field": "registered", "op": "lte", "value": "9999-12-31"}]},
        {"all": [{"field": "registered", "op": "lt", "value": "0001-01-01"}]},
        {"all": [{"field": "registered", "op": "between", "value": ["2026-01-01", "9999-12-31"]}]},
    ],
)
def test_a_date_at_the_calendars_end_is_refused_naming_where(
    admin: Api, database: Database, definition: dict[str, Any]
) -> None:
    before = table_contents(database)
    for refused in (
        admin.post("/api/v1/segments/count", {"definition": definition}),
        admin.post("/api/v1/segments", {"name": "Old", "definition": definition}),
    ):
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_segment_definition")
        assert "all[0]" in refused.json()["detail"]
    assert table_contents(database) == before


def test_many_all_of_values_are_counted_not_failed(admin: Api) -> None:
    # Given ten "bought in all of" conditions of 100 categories each (a legal rule)
    definition = {
        "all": [
            {
                "field": "bought_category",
                "op": "all_of",
                "value": [f"c{i}-{j}" for j in range(100)],
                "days": 30,
            }
            for i in range(10)
        ]
    }
    register(admin, "13800138001")
    counted = admin.post("/api/v1/segments/count", {"definition": definition})
    assert counted.status_code == 200, counted.text
    assert counted.json()["count"] == 0


def test_too_many_window_conditions_are_refused(admin: Api, database: Database) -> None:
    definition = {
        "any": [{"field": "orders", "op": "eq", "value": 0, "days": 3650 - i} for i in range(50)]
    }
    before = table_contents(database)
    refused = admin.post("/api/v1/segments/count", {"definition": definition})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_segment_definition")
    assert refused.json()["detail"] == (
        "分群规则无效：any[10]：一条规则最多包含 10 个按天数窗口统计的条件（消费、订单、购买、到期积分）"
    )
    assert table_contents(database) == before


def test_a_store_bound_key_sees_its_stores_sizes(
    admin: Api, store: dict[str, Any], client: TestClient, database: Database
) -> None:
    # Given three vips, one registered at SH001, and a segment of them
    register(admin, "13800138001", tags=["vip"], store_code="SH001")
    register(admin, "13800138002", tags=["vip"])
    register(admin, "13800138003", tags=["vip"])
    made = admin.post("/api/v1/segments", {"name": "VIP", "definition": VIP}).json()
    assert made["member_count"] == 3
    # When a key bound to SH001 reads the list, the segment and its members
    bound = Api(client, make_key(database, "read", "SH001", name="sh001"))
    listed = bound.get("/api/v1/segments").json()
    one = bound.get(f"/api/v1/segments/{made['id']}").json()
    page = bound.get(f"/api/v1/segments/{made['id']}/members").json()
    # Then each counts SH001's one member, as the members' page does
    assert [s["member_count"] for s in listed] == [1]
    assert one["member_count"] == 1
    assert page["total"] == 1
    # And an unbound reading key still sees the chain's three
    reader = Api(client, make_key(database, "read"))
    assert [s["member_count"] for s in reader.get("/api/v1/segments").json()] == [3]
    assert reader.get(f"/api/v1/segments/{made['id']}").json()["member_count"] == 3


BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize("control", [*BIDI, "\n"], ids=lambda c: f"U+{ord(c):04X}")
def test_names_and_descriptions_with_direction_overrides_are_refused(
    admin: Api, database: Database, control: str
) -> None:
    made = admin.post("/api/v1/segments", {"name": "List", "kind": "static"}).json()
    before = table_contents(database)
    sent = [
        admin.post("/api/v1/segments", {"name": f"VIP{control}x", "definition": VIP}),
        admin.post(
            "/api/v1/segments", {"name": "VIP", "description": f"a{control}b", "definition": VIP}
        ),
        admin.patch(f"/api/v1/segments/{made['id']}", {"name": f"L{control}x"}),
        admin.patch(f"/api/v1/segments/{made['id']}", {"description": f"d{control}x"}),
    ]
    fields = [[e["field"] for e in r.json()["errors"]] for r in sent]
    assert [(r.status_code, r.json()["code"]) for r in sent] == [(422, "control_characters")] * 4
    assert fields == [["name"], ["description"], ["name"], ["description"]]
    assert table_contents(database) == before


def test_a_static_segment_takes_no_definition_and_a_change_no_unknown_field(
    admin: Api, database: Database
) -> None:
    static = admin.post("/api/v1/segments", {"name": "List", "kind": "static"}).json()
    rule = admin.post("/api/v1/segments", {"name": "VIP", "definition": VIP}).json()
    before = table_contents(database)
    # A static segment made with a definition is refused, not made without it
    made = admin.post("/api/v1/segments", {"name": "L2", "kind": "static", "definition": VIP})
    assert (made.status_code, made.json()["code"]) == (422, "segment_static_definition")
    # A new static segment's definition is refused, not dropped
    redefined = admin.patch(f"/api/v1/segments/{static['id']}", {"definition": VIP})
    assert (redefined.status_code, redefined.json()["code"]) == (422, "segment_static_definition")
    # Unknown fields, and the kind, are refused as in every other body
    for body in ({"kind": "static"}, {"name": "X", "colour": "red"}):
        changed = admin.patch(f"/api/v1/segments/{rule['id']}", body)
        assert changed.status_code == 422, body
        assert [e["type"] for e in changed.json()["errors"]] == ["extra_forbidden"]
    made = admin.post("/api/v1/segments", {"name": "L3", "kind": "static", "size": 3})
    assert [e["type"] for e in made.json()["errors"]] == ["extra_forbidden"]
    assert table_contents(database) == before
    # And a static segment without a definition (or with null) is made
    fine = admin.post("/api/v1/segments", {"name": "L4", "kind": "static", "definition": None})
    assert (fine.status_code, fine.json()["definition"]) == (201, None)


def test_every_line_naming_a_found_member_counts_as_found(admin: Api) -> None:
    # Given a member, and a list naming them by phone spelled three ways and by card number
    ann = register(admin, "13912345601")
    made = admin.post("/api/v1/segments", {"name": "List", "kind": "static"}).json()
    lines = ["13912345601", "+8613912345601", "139-1234-5601", ann["member_no"], "13800000000"]
    uploaded = admin.post(f"/api/v1/segments/{made['id']}/members", {"lines": lines})
    # Then the member is added once and only the stranger's line is unknown
    assert uploaded.json() == {"added": 1, "found": 1, "unknown": ["13800000000"]}


def test_a_body_nested_too_deep_is_refused_not_failed(admin: Api, client: TestClient) -> None:
    headers = {**admin.headers, "Content-Type": "application/json"}
    for body in ('{"definition": ' + "[" * 30_000, '{"definition": ' + '{"all": [' * 5_000):
        refused = client.post("/api/v1/segments/count", content=body, headers=headers)
        assert 400 <= refused.status_code < 500, refused.text
