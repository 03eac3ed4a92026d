"""The RFM page in a real browser: its charts drawn and its counts shown, in both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memberkit.analytics import service
from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.analytics.test_service import AS_OF, eight
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_console import sign_in
from tests.staff.conftest import cheap_hashes, staff

__all__ = ["cheap_hashes", "eight", "staff"]


@pytest.mark.parametrize(
    ("lang", "heading", "dormant"),
    [("zh-CN", "RFM 与生命周期", "沉睡客户"), ("en", "RFM and lifecycle", "dormant customers")],
)
def test_the_rfm_page_draws_its_charts_and_shows_the_counts(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    eight: dict[str, Member],
    lang: str,
    heading: str,
    dormant: str,
) -> None:
    # given the eight hand-built members refreshed as of 30 June
    with database.session_scope() as session:
        service.refresh(session, program=program, as_of=AS_OF)
    tab = new_tab(lang)
    sign_in(tab, "owner")
    page = tab.page
    page.wait_for_url("**/admin")
    if lang == "en":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url("**/admin")

    # when the owner opens the RFM page from the menu's reports
    page.click("#nav-reports")
    page.click("#navbar-menu a.dropdown-item[href='/admin/rfm']")
    page.wait_for_url("**/admin/rfm")

    # then the three charts are drawn and the counts are the refresh's
    for chart in ("#chart-classes", "#chart-grid", "#chart-lifecycle"):
        page.locator(f"{chart} canvas").first.wait_for(state="visible")
    assert page.locator("h2.page-title").inner_text().startswith(heading)
    assert page.locator("#class-important_value td").nth(1).inner_text() == "1"
    assert page.locator("#class-important_value td").nth(2).inner_text() == "20.0%"
    assert page.locator("#class-general_win_back td").nth(1).inner_text() == "2"
    assert page.locator("#state-dormant td").all_inner_texts() == [dormant, "2"]
    assert page.locator("#state-won_back td").nth(1).inner_text() == "1"
    screenshot(page, f"console-rfm-{'zh_CN' if lang == 'zh-CN' else 'en'}")
    assert tab.left_the_machine() == []
    assert tab.errors == []
