"""The forecast page in a real browser: the fit, its charts drawn, and a refit, in both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memberkit.db import Database
from memberkit.forecast import service as forecast_service
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_console import sign_in
from tests.forecast.test_service import AS_OF, simulated_history
from tests.staff.conftest import cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]


@pytest.mark.parametrize(("lang", "heading"), [("zh-CN", "预测"), ("en", "Forecast")])
def test_the_forecast_page_shows_the_fit_and_refits(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
    heading: str,
) -> None:
    # given 150 members with simulated history, fitted as of 30 November
    with database.session_scope() as session:
        simulated_history(session, program, 150, seed=51)
    with database.session_scope() as session:
        r = forecast_service.fit(session, program=program, as_of=AS_OF).r
    tab = new_tab(lang)
    sign_in(tab, "owner")
    page = tab.page
    page.wait_for_url("**/admin")
    if lang == "en":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url("**/admin")

    # when the owner opens the forecast page from the menu's reports
    page.click("#nav-reports")
    page.click("#navbar-menu a.dropdown-item[href='/admin/forecast']")
    page.wait_for_url("**/admin/forecast")

    # then the fitted parameters show and both charts are drawn
    assert page.locator("h2.page-title").inner_text().startswith(heading)
    assert page.locator("#param-r").inner_text() == f"{r:.4f}"
    page.wait_for_selector("#holdout-card .chart canvas")
    assert page.locator(".chart canvas").count() >= 2
    assert page.locator("#holdout-table tbody tr").count() == 8
    screenshot(page, f"console-forecast-{'zh_CN' if lang == 'zh-CN' else 'en'}")

    # and "refit now" fits again and says so
    page.click("#refit")
    page.wait_for_selector("#forecast-done")
    assert tab.left_the_machine() == []
    assert tab.errors == []
