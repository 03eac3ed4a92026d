"""The reports through the API: JSON figures, the .xlsx and .pdf files, scoping, refusals."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from tests.report.history import build
from tests.rest import Api, make_key, table_contents

PERIOD = {"from": "2026-10-01", "to": "2026-11-30", "grain": "month"}


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_sales_report_answers_in_minor_units(
    admin: Api, database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    answer = admin.get("/api/v1/reports/sales", **PERIOD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["filters"] == {
        "date_from": "2026-10-01",
        "date_to": "2026-11-30",
        "grain": "month",
        "store": None,
        "tier": None,
        "stores": None,
    }
    total = body["total"]
    assert (total["sales_minor"], total["orders"], total["average_order_minor"]) == (
        27_000,
        4,
        6_750,
    )
    assert (total["frequency"], total["member_share"]) == ("1.3333", "1.0000")
    assert [(r["key"], r["sales_minor"]) for r in body["by_period"]] == [
        ("2026-10", 13_000),
        ("2026-11", 14_000),
    ]


def test_a_store_bound_key_sees_its_store_and_may_not_ask_for_another(
    client: TestClient, database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    bound = Api(client, make_key(database, "read", "SH001"))
    own = bound.get("/api/v1/reports/sales", **PERIOD).json()
    assert own["total"]["sales_minor"] == 13_000 and own["filters"]["stores"] == ["SH001"]
    members = bound.get("/api/v1/reports/members", **PERIOD).json()
    assert (members["total"], [g["key"] for g in members["by_store"]]) == (1, ["SH001"])
    refused = bound.get("/api/v1/reports/points", **PERIOD, store="SH002")
    assert refused.status_code == 403
    assert refused.json()["code"] == "report_store_out_of_scope"
    pdf = bound.get("/api/v1/reports/sales.pdf", **PERIOD, store="SH002")
    assert pdf.status_code == 403
    # another store's code is refused whether or not it exists: no probing for codes
    probe = bound.get("/api/v1/reports/sales", **PERIOD, store="NOPE")
    assert (probe.status_code, probe.json()["code"]) == (403, "report_store_out_of_scope")


def test_bad_filters_are_refused_with_a_code_and_change_nothing(
    admin: Api, database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    before = table_contents(database)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"from": "2026-11-30", "to": "2026-10-01"}, 422, "report_dates_reversed"),
        ({"grain": "year"}, 422, "report_grain_invalid"),
        ({"from": "2020-01-01", "to": "2026-11-30", "grain": "day"}, 422, "report_period_too_long"),
    ]
    for params, status, code in cases:
        refused = admin.get("/api/v1/reports/sales", **params)
        assert (refused.status_code, refused.json()["code"]) == (status, code), params
    early = admin.get("/api/v1/reports/sales", **{"from": "1989-12-31"})
    assert (early.status_code, early.json()["code"]) == (422, "report_date_out_of_range")
    # imported history goes back to 1990: a report of 1995 is an empty one, not a refusal
    old = admin.get("/api/v1/reports/sales", **{"from": "1995-01-01", "to": "1995-12-31"})
    assert old.status_code == 200 and old.json()["total"]["sales_minor"] == 0
    assert admin.get("/api/v1/reports/nothing.pdf").status_code == 404
    # a store or tier that does not exist is refused, not answered with zeros
    nowhere = admin.get("/api/v1/reports/sales", **PERIOD, store="NOPE")
    assert (nowhere.status_code, nowhere.json()["code"]) == (404, "store_not_found")
    no_tier = admin.get("/api/v1/reports/members.pdf", **PERIOD, tier="diamond")
    assert (no_tier.status_code, no_tier.json()["code"]) == (404, "report_tier_not_found")
    assert "diamond" in no_tier.json()["detail"]
    assert admin.get("/api/v1/reports/sales.docx").status_code == 404
    assert table_contents(database) == before


def test_the_excel_file_holds_the_figures(
    admin: Api, database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    answer = admin.client.get(
        "/api/v1/reports/sales.xlsx",
        params=PERIOD,
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["filters", "total", "by_period", "by_store", "by_tier"]
    assert book["filters"]["A1"].value == "销售报表"
    rows = list(book["by_period"].iter_rows(values_only=True))
    assert rows[1][:3] == ("周期", "销售额", "订单数")
    assert [(r[0], r[1], r[2]) for r in rows[2:]] == [("2026-10", 130, 2), ("2026-11", 140, 2)]
    assert book["by_period"]["B3"].number_format == '"¥"#,##0.00'
    # orders per buying member: a number to two places, not text
    total = book["total"]
    assert (str(total["F3"].value), total["F3"].number_format) == ("1.33", "0.00")


def test_the_excel_summaries_keep_numbers_as_numbers(
    admin: Api, database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    english = {**admin.headers, "Accept-Language": "en"}
    answer = admin.client.get("/api/v1/reports/members.xlsx", params=PERIOD, headers=english)
    summary = {
        row[0].value: row[1]
        for row in load_workbook(io.BytesIO(answer.content))["summary"].iter_rows(min_row=3)
    }
    members = summary["Members"]
    assert (members.value, members.number_format) == (3, "#,##0")
    rate = summary["Repurchase rate (≥2 purchases / ≥1)"]
    assert (Decimal(str(rate.value)), rate.number_format) == (Decimal("0.3333"), "0.00%")
    points = admin.client.get("/api/v1/reports/points.xlsx", params=PERIOD, headers=english)
    sheet = load_workbook(io.BytesIO(points.content))["summary"]
    owed = {row[0].value: row[1] for row in sheet.iter_rows(min_row=3)}
    principal = owed["Stored value outstanding: principal"]
    assert (Decimal(str(principal.value)), principal.number_format) == (
        Decimal(500),
        '"¥"#,##0.00',
    )


def test_the_pdf_has_the_title_filters_figures_and_charts_in_chinese(
    admin: Api, database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    for name, words in (
        ("sales", ["销售报表", "2026-10-01", "¥270.00", "¥67.50", "按期间"]),
        ("points", ["积分与储值报表", "¥500.00", "过期率"]),
        ("members", ["会员报表", "按入会月份的留存", "100.00%"]),
    ):
        answer = admin.client.get(
            f"/api/v1/reports/{name}",
            params={**PERIOD, "from": "2026-09-01", "format": "pdf"}
            if name != "sales"
            else {**PERIOD, "format": "pdf"},
            headers={**admin.headers, "Accept-Language": "zh-CN"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        text = _text(answer.content)
        for word in words:
            assert word in text, (name, word)
    english = admin.client.get(
        "/api/v1/reports/sales.pdf",
        params=PERIOD,
        headers={**admin.headers, "Accept-Language": "en"},
    )
    assert "Sales report" in _text(english.content)
