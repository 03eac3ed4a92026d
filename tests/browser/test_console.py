"""Signing in to the console in a real browser, as each role: what each may and may not see."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.browser.conftest import Tab, screenshot
from tests.factories import make_member, post_order
from tests.staff.conftest import PASSWORDS, cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]


def sign_in(tab: Tab, username: str) -> None:
    page = tab.page
    page.goto("/admin")
    page.wait_for_url("**/login?next=/admin")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")


@pytest.mark.parametrize(
    ("lang", "locale", "heading"), [("zh-CN", "zh_CN", "概览"), ("en", "en", "Dashboard")]
)
def test_the_owner_signs_in_and_sees_the_dashboard_with_its_figures(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
    locale: str,
    heading: str,
) -> None:
    # given a member who bought for ¥60.00, and the owner's language set to the browser's
    with database.session_scope() as session:
        member = make_member(session, program)
        post_order(session, program, member, amount_minor=6000)
    tab = new_tab(lang)
    sign_in(tab, "owner")
    page = tab.page
    page.wait_for_url("**/admin")
    if locale == "en":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url("**/admin")

    # then the dashboard shows its figures in text and draws its charts, all from this machine
    assert page.locator("h2.page-title").inner_text().startswith(heading)
    assert page.locator("#members-total").inner_text() == "1"
    assert page.locator("#sales-total").inner_text() == "¥60.00"
    page.locator(".chart canvas").first.wait_for(state="visible")
    assert page.locator("#signed-in-as").inner_text() == "owner"
    screenshot(page, f"console-dashboard-{locale}")
    assert tab.left_the_machine() == []
    assert tab.errors == []

    # and signing out ends the session: the console asks to sign in again
    page.click("#account-menu")
    page.click("#sign-out")
    page.wait_for_url("**/login")
    page.goto("/admin")
    page.wait_for_url("**/login?next=/admin")


def test_a_cashier_may_not_open_the_dashboard_nor_the_audit_log(
    new_tab: Callable[..., Tab], staff: dict[str, Actor]
) -> None:
    tab = new_tab("en")
    sign_in(tab, "cashier")
    page = tab.page
    page.goto("/admin/audit")
    assert page.locator("#refusal").is_visible()
    assert page.locator("#navbar-menu a[href='/admin/audit']").count() == 0
    screenshot(page, "console-cashier-refused")


def test_a_store_manager_sees_no_audit_log_and_a_wrong_password_is_told(
    new_tab: Callable[..., Tab], staff: dict[str, Actor]
) -> None:
    tab = new_tab("en")
    page = tab.page
    page.goto("/login")
    page.fill("#username", "manager")
    page.fill("#password", "wrong-password-1")
    page.click("button[type=submit]")
    assert page.locator("#login-error").is_visible()
    sign_in(tab, "manager")
    page.wait_for_url("**/admin")
    assert page.locator("#navbar-menu a[href='/admin/audit']").count() == 0
    assert page.locator("#points-outstanding").count() == 0  # the chain's figures are not theirs
    screenshot(page, "console-manager-dashboard")
