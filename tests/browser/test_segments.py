"""The segment builder in a real browser: the live count follows the rule, saving, the segment's
page listing its members; screenshots in both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_console import sign_in
from tests.factories import make_member
from tests.staff.conftest import cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]


@pytest.mark.parametrize(("lang", "heading"), [("zh-CN", "分群"), ("en", "Segments")])
def test_the_builders_live_count_follows_the_rule_and_the_saved_segment_lists_its_members(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
    heading: str,
) -> None:
    # given four members, two of them tagged vip
    with database.session_scope() as session:
        vips = [
            make_member(session, program, store_code="SH001", tags=["vip"]).member_no,
            make_member(session, program, store_code="SH002", tags=["vip"]).member_no,
        ]
        others = [make_member(session, program, store_code="SH001").member_no for _ in range(2)]
    tab = new_tab(lang)
    sign_in(tab, "owner")
    page = tab.page
    page.wait_for_url("**/admin")
    if lang == "en":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url("**/admin")

    # when the owner opens the segments from the marketing menu and starts a new one
    page.click("#nav-marketing")
    page.click("#navbar-menu a.dropdown-item[href='/admin/segments']")
    page.wait_for_url("**/admin/segments")
    assert page.locator("h2.page-title").inner_text().startswith(heading)
    page.click("#new-segment")
    page.wait_for_url("**/admin/segments/new")

    # then the live count shows every (active) member
    expect(page.locator("#live-count")).to_have_text("4")
    expect(page.locator("#preview tbody tr")).to_have_count(4)

    # when a condition "tags has any of vip" is added
    page.click("#builder .rule-group > .d-flex > .add-condition")
    condition = page.locator("#builder .rule-condition").nth(1)
    condition.locator(".rule-field").select_option("tag")
    condition.locator(".rule-value").fill("vip")

    # then the count drops to the two vips, and the preview lists them
    expect(page.locator("#live-count")).to_have_text("2")
    expect(page.locator("#preview tbody tr")).to_have_count(2)
    assert page.locator("#preview tbody tr td:first-child").all_inner_texts() == vips
    page.fill("#name", "VIP")
    screenshot(page, f"console-segment-builder-{'zh_CN' if lang == 'zh-CN' else 'en'}")

    # when a wrong value is typed, the service's refusal names where
    condition.locator(".rule-field").select_option("orders")
    condition.locator(".rule-value").fill("many")
    condition.locator(".rule-days").fill("30")
    expect(page.locator("#count-error")).to_contain_text("all[1]")
    condition.locator(".rule-field").select_option("tag")
    condition.locator(".rule-value").fill("vip")
    expect(page.locator("#live-count")).to_have_text("2")

    # when it is saved
    page.click("#save-segment")
    page.wait_for_url("**/admin/segments/*?done=saved")

    # then the segment's page lists the two vips and their entry in its history
    expect(page.locator("#segment-done")).to_be_visible()
    assert page.locator("#segment-total").inner_text() == "2"
    listed = page.locator("#segment-members tbody tr td:first-child").all_inner_texts()
    assert listed == vips
    assert not set(listed) & set(others)
    expect(page.locator("#segment-history tbody tr")).to_have_count(2)
    expect(page.locator("#segment-rule .rule-condition")).to_have_count(2)
    screenshot(page, f"console-segment-{'zh_CN' if lang == 'zh-CN' else 'en'}")
    # and the page logged nothing but the refused counts of the wrong value (422s)
    assert tab.errors
    assert [e for e in tab.errors if "status of 422" not in e] == []
    assert tab.left_the_machine() == []
