"""PATCH /api/v1/program changes one policy at a time and refuses bad ones."""

from __future__ import annotations

from memberkit.program.policies import DEFAULT_POLICIES
from tests.api.conftest import Api


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
