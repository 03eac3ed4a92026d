"""The RFM API: the overview and its store scope, one member's row, a refresh and who may."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from memberkit.analytics import service
from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from tests.analytics.test_service import AS_OF, eight
from tests.rest import Api, make_key, table_contents

__all__ = ["eight"]

ZERO_CLASSES = {
    "important_value": 0,
    "important_keep": 0,
    "important_develop": 0,
    "important_win_back": 0,
    "general_value": 0,
    "general_keep": 0,
    "general_develop": 0,
    "general_win_back": 0,
}


def refreshed(database: Database, program: ProgramConfig) -> None:
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)


def cells(body: dict[str, Any]) -> dict[tuple[int, int], int]:
    assert len(body["grid"]) == 25
    return {(c["r"], c["f"]): c["members"] for c in body["grid"] if c["members"]}


def test_before_any_refresh_the_overview_is_empty(admin: Api) -> None:
    body = admin.get("/api/v1/rfm").json()
    assert body["as_of"] is None and body["cutoffs"] is None
    assert body["members"] == 0
    assert body["classes"] == {**ZERO_CLASSES, "unscored": 0}
    assert body["settings"] == {
        "window_days": 365,
        "cut": "score",
        "at": 4,
        "new_days": 30,
        "dormant_days": 90,
        "churned_days": 180,
    }
    assert cells(body) == {}


def test_the_overview_counts_classes_states_and_the_grid(
    admin: Api, database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    refreshed(database, program)
    body = admin.get("/api/v1/rfm").json()
    assert body["as_of"] == "2026-06-30"
    assert body["members"] == 8
    assert body["classes"] == {
        **ZERO_CLASSES,
        "important_value": 1,
        "important_develop": 1,
        "general_keep": 1,
        "general_win_back": 2,
        "unscored": 3,
    }
    assert body["active_classes"] == {"loyal": 1, "opportunity": 1, "random": 2, "none": 4}
    assert body["lifecycle"] == {"new": 2, "active": 2, "won_back": 1, "dormant": 2, "churned": 1}
    assert cells(body) == {(5, 5): 1, (4, 1): 1, (1, 4): 1, (2, 2): 1, (3, 3): 1}
    assert body["cutoffs"] == {
        "recency_days": [99, 59, 19, 4],
        "frequency": [2, 3, 4, 5],
        "monetary": ["100.01", "200.01", "300.01", "400.01"],
        "mean_recency_days": "37.00",
        "mean_frequency": "3.00",
        "mean_monetary": "300.00",
    }


def test_a_store_bound_key_counts_its_stores_members_only(
    client: TestClient, database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    refreshed(database, program)
    bound = Api(client, make_key(database, "read", "SH001"))
    body = bound.get("/api/v1/rfm").json()
    assert body["members"] == 2
    assert body["classes"] == {
        **ZERO_CLASSES,
        "important_value": 1,
        "general_keep": 1,
        "unscored": 0,
    }
    assert body["lifecycle"] == {"new": 0, "active": 1, "won_back": 0, "dormant": 1, "churned": 0}
    assert cells(body) == {(5, 5): 1, (1, 4): 1}


def test_one_members_rfm(
    admin: Api, database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    m4 = eight["m4"].member_no
    # before any refresh: 404 with its own code
    missing = admin.get(f"/api/v1/members/{m4}/rfm")
    assert (missing.status_code, missing.json()["code"]) == (404, "rfm_not_refreshed")
    refreshed(database, program)
    body = admin.get(f"/api/v1/members/{m4}/rfm").json()
    body.pop("computed_at")
    assert body == {
        "member_no": m4,
        "as_of": "2026-06-30",
        "recency_days": 60,
        "frequency": 2,
        "monetary": "100.00",
        "r": 2,
        "f": 2,
        "m": 1,
        "rfm_class": "general_win_back",
        "active_class": "random",
        "lifecycle": "won_back",
        "first_purchase_on": "2025-05-26",
        "last_purchase_on": "2026-05-01",
    }
    unknown = admin.get("/api/v1/members/999999999999/rfm")
    assert unknown.status_code == 404


def test_a_refresh_needs_a_chain_wide_admin_key(
    client: TestClient, admin: Api, database: Database, eight: dict[str, Member]
) -> None:
    before = table_contents(database)
    for key in (make_key(database, "read"), make_key(database, "admin", "SH001")):
        refused = Api(client, key).post("/api/v1/rfm/refresh", {})
        assert refused.status_code == 403
    after = table_contents(database)
    assert {k: v for k, v in after.items() if k != "api_keys"} == {
        k: v for k, v in before.items() if k != "api_keys"
    }
    # the chain-wide admin key refreshes as of the program's today
    done = admin.post("/api/v1/rfm/refresh", {})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["as_of"], body["members"], body["scored"]) == ("2026-11-23", 8, 5)
    assert admin.get("/api/v1/rfm").json()["as_of"] == "2026-11-23"
