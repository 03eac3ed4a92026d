"""The foresight API: fit on demand (admin keys only), the latest fit, a member's forecast."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.db import Database
from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.program.service import ProgramConfig
from tests.forecast.test_service import simulated_history
from tests.rest import Api, make_key


def stored(database: Database) -> tuple[list[Any], list[Any]]:
    with database.session_scope(read_only=True) as session:
        fits = [(f.id, f.status) for f in session.scalars(select(ForecastFit))]
        forecasts = sorted(
            (f.member_id, f.fit_id, f.p_alive_ppm) for f in session.scalars(select(MemberForecast))
        )
    return fits, forecasts


def test_fit_on_demand_then_read_the_fit_and_a_members_forecast(
    admin: Api, client: TestClient, database: Database, program: ProgramConfig
) -> None:
    # given 150 members with simulated history, and no fit yet
    with database.session_scope() as session:
        members = simulated_history(session, program, 150, seed=31)
        member_no, member_id = members[0].member_no, members[0].id
    none_yet = admin.get("/api/v1/forecast")
    assert none_yet.status_code == 404 and none_yet.json()["code"] == "no_forecast_fit"

    # when an admin key asks for a fit as of the API's today
    fitted = admin.post("/api/v1/forecast/fit", {"as_of": "2026-11-23"})

    # then the fit is returned with its parameters and diagnostics
    assert fitted.status_code == 200, fitted.text
    body = fitted.json()
    assert body["status"] == "fitted" and body["as_of"] == "2026-11-23"
    assert body["members_used"] == 150
    assert set(body["bgnbd"]) == {"r", "alpha", "a", "b"} and set(body["gamma_gamma"]) == {
        "p",
        "q",
        "v",
    }
    assert body["diagnostics"]["holdout"]["holdout_days"] == 182
    assert admin.get("/api/v1/forecast").json()["id"] == body["id"]
    # a later attempt that fails (as of a day before any purchase) is stored, but the fit read
    # back stays the one the member forecasts come from
    failed = admin.post("/api/v1/forecast/fit", {"as_of": "1990-01-01"}).json()
    assert failed["status"] == "failed" and failed["id"] != body["id"]
    assert admin.get("/api/v1/forecast").json()["id"] == body["id"]

    # and the member's forecast is the stored row, in plain figures and money
    with database.session_scope(read_only=True) as session:
        row = session.scalars(
            select(MemberForecast).where(MemberForecast.member_id == member_id)
        ).one()
    got = admin.get(f"/api/v1/members/{member_no}/forecast").json()
    assert got["fit_id"] == body["id"]
    assert got["p_alive"] == row.p_alive_ppm / 1_000_000
    assert got["churn_risk"] == round(1 - row.p_alive_ppm / 1_000_000, 6)
    assert got["expected_purchases_90d"] == row.expected_purchases_90d_milli / 1000
    assert (
        got["expected_value_12m"]
        == f"{row.expected_value_12m_minor // 100}.{row.expected_value_12m_minor % 100:02d}"
    )
    unknown = admin.get("/api/v1/members/99999999/forecast")
    assert unknown.status_code == 404


def test_a_fit_is_refused_to_a_reader_in_the_future_or_out_of_bounds_and_changes_nothing(
    admin: Api, client: TestClient, database: Database, program: ProgramConfig
) -> None:
    # given a program with history, fitted once
    with database.session_scope() as session:
        simulated_history(session, program, 60, seed=32)
    assert admin.post("/api/v1/forecast/fit", {"as_of": "2026-11-20"}).status_code == 200
    before = stored(database)

    # when a read key, a day not yet come, and a holdout of 0 days are tried
    reader = Api(client, make_key(database, "read"))
    refused_reader = reader.post("/api/v1/forecast/fit", {})
    future = admin.post(
        "/api/v1/forecast/fit", {"as_of": "2026-11-24"}, **{"Accept-Language": "zh-CN"}
    )
    no_holdout = admin.post("/api/v1/forecast/fit", {"holdout_days": 0})

    # then each is refused with its code, and nothing is stored
    assert refused_reader.status_code == 403
    assert (future.status_code, future.json()["code"]) == (422, "as_of_in_future")
    assert "2026-11-24" in future.json()["detail"]
    assert no_holdout.status_code == 422
    assert stored(database) == before
