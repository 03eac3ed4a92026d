"""The console's coupon pages in a real browser: an operator defines a template, issues it to a
filtered set of members, watches the batch finish and sees a coupon on a member's page."""

from __future__ import annotations

from collections.abc import Callable

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.browser.conftest import Tab, screenshot
from tests.factories import make_member

__all__ = ["cheap_hashes", "staff"]


def test_the_owner_defines_a_template_and_issues_it_to_tagged_members(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
) -> None:
    # given two members tagged 新客 and one without the tag
    with database.session_scope() as session:
        tagged = [
            make_member(session, program, store_code="SH001", tags=["新客"]).member_no
            for _n in range(2)
        ]
        untagged = make_member(session, program, store_code="SH001").member_no
    tab = new_tab()
    page = tab.page

    # when the owner signs in and defines a 满100减20 coupon valid 30 days after issue
    page.goto("/login?next=/admin/coupons")
    page.fill("#username", "owner")
    page.fill("#password", PASSWORDS["owner"])
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/coupons")
    page.click("#new-template")
    page.fill("#t-code", "full100")
    page.fill("#t-name", "满100减20")
    page.select_option("#t-kind", "amount_off")
    page.fill("#t-off", "20.00")
    page.fill("#t-threshold", "100.00")
    page.fill("#t-valid_days", "30")
    page.fill("#t-budget_count", "100")
    screenshot(page, "coupon-template-new-zh_CN")
    page.click("#save-template")
    page.locator("#page-done").wait_for(state="visible")

    # and issues it to the members tagged 新客
    page.fill("#bulk-tag", "新客")
    page.click("#bulk-filter-submit")
    page.wait_for_url("**/admin/coupons/batches/*")

    # then the batch page reloads until it is done, with both coupons issued
    page.locator('#batch-state[data-state="done"]').wait_for(timeout=20_000)
    assert page.locator("#batch-issued").inner_text() == "2"
    assert page.locator("#batch-done").inner_text() == "2 / 2"
    screenshot(page, "coupon-batch-zh_CN")

    # and a tagged member's page shows the coupon, the untagged member's none
    page.goto(f"/admin/members/{tagged[0]}")
    coupons = page.locator("#coupons")
    assert "满100减20" in coupons.inner_text()
    assert coupons.locator('[data-state="available"]').count() == 1
    screenshot(page, "coupon-member-panel-zh_CN")
    page.goto(f"/admin/members/{untagged}")
    assert page.locator("#no-coupons").is_visible()

    # and the coupons page counts them, in English once the owner switches language
    page.goto("/admin/coupons")
    assert "2" in page.locator("#template-full100").inner_text()
    screenshot(page, "coupons-zh_CN")
    page.click("#account-menu")
    page.click("#switch-language")
    page.wait_for_url("**/admin/coupons")
    assert "Templates: liability and effect" in page.locator("body").inner_text()
    screenshot(page, "coupons-en")
    page.goto("/admin/coupons/templates/full100")
    assert "Issue in bulk" in page.locator("#bulk-card").inner_text()
    screenshot(page, "coupon-template-en")
    page.goto(f"/admin/members/{tagged[1]}")
    assert "available" in page.locator("#coupons").inner_text()
    screenshot(page, "coupon-member-panel-en")
    assert tab.left_the_machine() == []
    assert tab.errors == []
