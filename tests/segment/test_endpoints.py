"""Segments through the API: define, count while editing, members, history, refresh, upload."""

from __future__ import annotations

from datetime import date
from typing import Any

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
