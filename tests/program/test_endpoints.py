"""PATCH /api/v1/program changes one policy at a time and refuses bad ones."""

from __future__ import annotations

from memberkit.db import Database
from memberkit.program.policies import DEFAULT_POLICIES
from tests.rest import Api, table_contents


def test_patching_one_policy_keeps_the_others(admin: Api) -> None:
    # given the default policies
    assert admin.get("/api/v1/program").json()["policies"] == DEFAULT_POLICIES

    # when one is changed
    response = admin.patch("/api/v1/program", {"policies": {"cross_store_returns": True}})

    # then only it changes, and a bad value is refused in the request's language
    assert response.status_code == 200, response.text
    assert response.json()["policies"] == {**DEFAULT_POLICIES, "cross_store_returns": True}
    refused = admin.client.patch(
        "/api/v1/program",
        json={"policies": {"backdate_days": -1}},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_program_settings"
    assert "backdate_days" in refused.json()["detail"]
    assert admin.get("/api/v1/program").json()["policies"]["cross_store_returns"] is True


def test_backdating_cannot_be_set_to_zero_days(admin: Api, database: Database) -> None:
    # given the default policies
    before = table_contents(database)
    # when back-dating is set to 0 days (network delay would put every live request in the past)
    refused = admin.client.patch(
        "/api/v1/program",
        json={"policies": {"backdate_days": 0}},
        headers={**admin.headers, "Accept-Language": "en"},
    )
    # then it is refused, and nothing changed
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert "backdate_days must be a whole number from 1 to 3650" in refused.json()["detail"]
    assert table_contents(database) == before
