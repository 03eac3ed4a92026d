"""The report pages in a real browser: charts drawn, the one-click PDF downloaded and read
back (Chinese too), and a store manager seeing their store's figures only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_console import sign_in
from tests.report.history import build
from tests.staff.conftest import cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]

PERIOD = "from=2026-10-01&to=2026-11-30&grain=month"
AUTUMN = "from=2026-09-01&to=2026-11-30&grain=month"


def _open(tab: Tab, username: str, lang: str) -> None:
    sign_in(tab, username)
    page = tab.page
    page.wait_for_url("**/admin")
    if lang == "en":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url("**/admin")


@pytest.mark.parametrize(
    ("lang", "heading", "words"),
    [
        ("zh-CN", "销售报表", ["销售报表", "按门店", "¥270.00", "周期"]),
        ("en", "Sales report", ["Sales report", "By store", "¥270.00", "Period"]),
    ],
)
def test_the_sales_report_draws_its_charts_and_exports_its_pdf(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    tmp_path: Path,
    lang: str,
    heading: str,
    words: list[str],
) -> None:
    build(database, program)
    tab = new_tab(lang)
    _open(tab, "owner", lang)
    page = tab.page

    # when the owner opens the sales report from the menu and asks for the autumn by month
    page.click("#nav-reports")
    page.click("#navbar-menu a.dropdown-item[href='/admin/reports/sales']")
    page.wait_for_url("**/admin/reports/sales")
    page.goto(f"/admin/reports/sales?{PERIOD}")

    # then each chart is drawn on a canvas, and the table holds the figures
    assert page.locator("h2.page-title").inner_text().startswith(heading)
    page.wait_for_selector("#section-by_period .chart canvas")
    assert page.locator(".chart canvas").count() >= 4
    assert "¥270.00" in page.locator("#table-total").inner_text()
    screenshot(page, f"console-report-sales-{'zh_CN' if lang == 'zh-CN' else 'en'}")

    # and the one-click PDF downloads, its text in the page's language
    with page.expect_download() as waiting:
        page.click("#export-pdf")
    saved = tmp_path / "sales.pdf"
    waiting.value.save_as(saved)
    text = "".join(p.extract_text() for p in PdfReader(saved).pages)
    for word in words:
        assert word in text, word
    assert tab.left_the_machine() == []
    assert tab.errors == []


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_members_report_draws_the_cohort_heat_map(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
) -> None:
    build(database, program)
    tab = new_tab(lang)
    _open(tab, "owner", lang)
    page = tab.page
    page.goto(f"/admin/reports/members?{AUTUMN}")
    page.wait_for_selector("#section-cohorts .chart canvas")
    assert "100.00%" in page.locator("#table-cohorts").inner_text()
    screenshot(page, f"console-report-members-{'zh_CN' if lang == 'zh-CN' else 'en'}")
    assert tab.errors == []


def test_a_store_manager_sees_only_their_stores_figures(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
) -> None:
    build(database, program)
    tab = new_tab("zh-CN")
    _open(tab, "manager", "zh-CN")
    page = tab.page
    page.goto(f"/admin/reports/sales?{PERIOD}")
    page.wait_for_selector("#section-by_store .chart canvas")
    stores = page.locator("#table-by_store").inner_text()
    assert "SH001" in stores and "SH002" not in stores
    assert "¥130.00" in page.locator("#table-total").inner_text()  # A's autumn at SH001
    assert page.locator("#report-store option").all_inner_texts() == ["我的全部门店", "SH001"]
    screenshot(page, "console-report-sales-manager-zh_CN")
    assert tab.errors == []
