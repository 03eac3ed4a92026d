"""The console's report pages: charts and tables, the one-click files, a manager's own stores."""

from __future__ import annotations

import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.member.test_views import signed
from tests.report.history import build

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]

PERIOD = {"from": "2026-10-01", "to": "2026-11-30", "grain": "month"}


@pytest.fixture
def history(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> None:
    build(database, program)


def _charts(page: str) -> list[dict[str, object]]:
    return [
        json.loads(found.replace("&#39;", "'"))
        for found in re.findall(r"data-chart='([^']*)'", page)
    ]


def test_the_sales_page_shows_its_charts_tables_and_export_buttons(
    client: TestClient, history: None
) -> None:
    signed(client, "owner")
    page = client.get("/admin/reports/sales", params=PERIOD)
    assert page.status_code == 200
    text = page.text
    assert 'id="table-by_period"' in text and "¥130.00" in text and "¥270.00" in text
    charts = _charts(text)
    assert len(charts) == 4
    by_period = charts[1]
    assert by_period["xAxis"] == {"type": "category", "data": ["2026-10", "2026-11"]}
    assert (
        'href="/admin/reports/sales.pdf?from=2026-10-01&amp;to=2026-11-30&amp;grain=month"' in text
    )
    for name in ("points", "members"):
        other = client.get(f"/admin/reports/{name}", params=PERIOD)
        assert other.status_code == 200 and len(_charts(other.text)) >= 3


def test_the_members_page_draws_the_cohort_heat_map(client: TestClient, history: None) -> None:
    signed(client, "owner")
    page = client.get("/admin/reports/members", params={**PERIOD, "from": "2026-09-01"}).text
    heat = next(chart for chart in _charts(page) if "visualMap" in chart)
    assert heat["yAxis"]["data"] == ["2026-09", "2026-10", "2026-11"]  # type: ignore[index]
    assert heat["series"][0]["data"] == [  # type: ignore[index]
        [0, 0, "100"],
        [1, 0, "100"],
        [2, 0, "0"],
        [0, 1, "0"],
        [1, 1, "100"],
    ]


def test_a_store_manager_sees_their_stores_figures_only(client: TestClient, history: None) -> None:
    signed(client, "manager")
    page = client.get("/admin/reports/sales", params=PERIOD)
    assert page.status_code == 200
    assert "¥130.00" in page.text and "¥270.00" not in page.text and "SH002" not in page.text
    refused = client.get("/admin/reports/sales", params={**PERIOD, "store": "SH002"})
    assert refused.status_code == 403 and 'id="report-error"' in refused.text
    pdf = client.get("/admin/reports/sales.pdf", params=PERIOD)
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "销售报表" in text and "SH001" in text and "SH002" not in text


def test_bad_filters_are_said_on_the_page(client: TestClient, history: None) -> None:
    signed(client, "owner")
    for params in ({"from": "yesterday"}, {"from": "2026-11-30", "to": "2026-10-01"}):
        refused = client.get("/admin/reports/points", params=params)
        assert refused.status_code == 422 and 'id="report-error"' in refused.text
    assert client.get("/admin/reports/nothing").status_code == 404


def test_a_cashier_may_not_open_them(client: TestClient, history: None) -> None:
    signed(client, "cashier")
    assert client.get("/admin/reports/sales").status_code == 403
