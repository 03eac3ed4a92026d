"""Segments through the API: define, count while editing, members, history, refresh, upload."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from memberkit.db import Database
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
