"""The console's member pages in a real browser: search a member, adjust points, both languages."""

from __future__ import annotations

from collections.abc import Callable

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.browser.conftest import Tab, screenshot
from tests.factories import make_member

__all__ = ["cheap_hashes", "staff"]


def test_the_owner_searches_a_member_and_adjusts_points(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
) -> None:
    # given members, one of them 张三 with phone 13800138000
    with database.session_scope() as session:
        wanted = make_member(session, program, phone="13800138000", name="张三", store_code="SH001")
        for _ in range(3):
            make_member(session, program, store_code="SH002", tags=["新客"])
    tab = new_tab()
    page = tab.page

    # when the owner signs in and searches the member by phone
    page.goto("/login?next=/admin/members")
    page.fill("#username", "owner")
    page.fill("#password", PASSWORDS["owner"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/members")
    screenshot(page, "members-list-zh_CN")
    page.fill("#q", "138-0013-8000")
    page.click("#search-button")
    links = page.locator("#member-table .member-link")
    assert links.count() == 1 and links.first.inner_text() == wanted.member_no

    # and opens them and adjusts their points
    links.first.click()
    page.wait_for_url(f"**/admin/members/{wanted.member_no}")
    page.fill("#adjust-points", "120")
    page.fill("#adjust-reason", "补偿：门店活动")
    page.click("#adjust-submit")
    page.locator("#done").wait_for(state="visible")

    # then the page shows the new balance and the ledger line, in Chinese
    assert page.locator("#points-balance").inner_text() == "120"
    assert "补偿：门店活动" in page.locator("#timeline").inner_text()
    assert page.locator("#profile-phone").inner_text() == "13800138000"
    screenshot(page, "member-page-zh_CN")

    # and in English once the owner switches language
    page.click("#account-menu")
    page.click("#switch-language")
    page.wait_for_url(f"**/admin/members/{wanted.member_no}")
    assert page.locator("h2.page-title, .page-title").first.inner_text().startswith("Member")
    screenshot(page, "member-page-en")
    page.goto("/admin/members")
    assert "Names are stored encrypted" in page.locator("#member-search").inner_text()
    screenshot(page, "members-list-en")
    assert tab.left_the_machine() == []
    assert tab.errors == []
