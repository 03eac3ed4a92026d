"""The console's forecast page: the fit shown, a refit from the page, who may see and refit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.forecast import service as forecast_service
from memberkit.forecast.models import ForecastFit
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf
from tests.forecast.test_service import AS_OF, simulated_history
from tests.member.test_views import signed

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]


@pytest.fixture
def history(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> None:
    with database.session_scope() as session:
        simulated_history(session, program, 150, seed=41)


def fits(database: Database) -> list[tuple[int, str]]:
    with database.session_scope(read_only=True) as session:
        return [
            (f.id, f.status) for f in session.scalars(select(ForecastFit).order_by(ForecastFit.id))
        ]


def test_the_page_shows_the_fit_its_holdout_and_the_churn_risk(
    client: TestClient, database: Database, program: ProgramConfig, history: None
) -> None:
    # given a fit as of 30 November
    with database.session_scope() as session:
        fit = forecast_service.fit(session, program=program, as_of=AS_OF)
        r, members = fit.r, fit.members_used
        holdout_members = fit.diagnostics["holdout"]["members"]

    # when the owner opens the page
    signed(client, "owner")
    page = client.get("/admin/forecast")

    # then the parameters, the members used, the holdout table and the 150 members' risk show
    assert page.status_code == 200
    assert f'id="param-r">{r:.4f}<' in page.text
    assert f"{members:,}" in page.text
    assert 'id="holdout-table"' in page.text and "data-chart=" in page.text
    assert f"{holdout_members:,}" in page.text
    assert page.text.count("<tr><td>") >= 10 + 8
    assert 'id="refit"' in page.text


def test_refit_now_fits_audits_and_comes_back(
    client: TestClient, database: Database, history: None
) -> None:
    signed(client, "owner")
    page = client.get("/admin/forecast")
    assert 'id="no-fit"' in page.text

    # when the refit button is pressed
    done = client.post(
        "/admin/forecast/fit", data={"csrf_token": csrf(page.text)}, follow_redirects=False
    )

    # then one fit is stored and audited, and the page says so
    assert done.status_code == 303 and done.headers["location"] == "/admin/forecast?done=fitted"
    assert [status for _id, status in fits(database)] == ["fitted"]
    with database.session_scope(read_only=True) as session:
        assert session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "forecast.fit")
        ).all() == ["forecast.fit"]
    assert 'id="forecast-done"' in client.get("/admin/forecast?done=fitted").text


def test_a_store_manager_and_a_cashier_may_not_see_or_refit(
    client: TestClient, database: Database, history: None
) -> None:
    signed(client, "manager")
    assert client.get("/admin/forecast", follow_redirects=False).status_code == 403
    refused = client.post("/admin/forecast/fit", data={}, follow_redirects=False)
    assert refused.status_code in (403, 400)
    client.cookies.clear()
    signed(client, "cashier")
    assert client.get("/admin/forecast", follow_redirects=False).status_code == 403
    assert fits(database) == []


def test_a_failed_refit_is_told_with_its_reason(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    # given a program without orders
    signed(client, "owner")
    page = client.get("/admin/forecast")

    # when the refit button is pressed
    client.post("/admin/forecast/fit", data={"csrf_token": csrf(page.text)})

    # then the failed fit is stored and the page says why, in the console's language
    assert [status for _id, status in fits(database)] == ["failed"]
    shown = client.get("/admin/forecast").text
    assert 'id="forecast-failed"' in shown and "复购会员太少" in shown
    assert 'id="no-fit"' in shown and 'id="no-holdout"' in shown
