"""The configuration pages in a real browser: a tier threshold changed after a simulation and
audited; every configuration page rendered (and screenshotted) in both languages."""

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


def _sign_in(tab: Tab, username: str, path: str) -> None:
    page = tab.page
    page.goto(path)
    page.wait_for_url("**/login?next=**")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def _english(tab: Tab, path: str) -> None:
    tab.page.click("#account-menu")
    tab.page.click("#switch-language")
    tab.page.wait_for_url(f"**{path}")


def test_an_operator_changes_a_tier_threshold_after_a_simulation_and_the_audit_log_shows_it(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
) -> None:
    # given two regular members, with 60 and 700 growth
    with database.session_scope() as session:
        for amount in (6000, 70000):
            post_order(session, program, make_member(session, program), amount_minor=amount)
    tab = new_tab("en")
    _sign_in(tab, "admin", "/admin/tiers")
    _english(tab, "/admin/tiers")
    page = tab.page

    # when the operator proposes silver at 600 growth (above the 500 kept at) and simulates it
    page.fill("#growth-silver", "600")
    page.click("#simulate")
    page.locator("#simulation").wait_for(state="visible")

    # then the page shows the histogram and that one member would move up, before saving
    assert "1 would move up, 0 would move down and 1 would stay" in page.inner_text("#moves")
    page.locator("#simulation .chart canvas").first.wait_for(state="visible")
    screenshot(page, "console-tier-simulator-en")

    # and saving them changes the ladder, which the audit log shows with before and after
    page.click("#save-thresholds")
    page.wait_for_url("**/admin/tiers?saved=true")
    assert page.input_value("#growth-silver") == "600"
    page.goto("/admin/audit?action=settings.change")
    row = page.locator("#audit-table tbody tr").first
    assert "settings.change" in row.inner_text() and "ladder" in row.inner_text()
    assert '"growth_at_least": 600' in row.inner_text().replace('":600', '": 600')
    screenshot(page, "console-audit-tier-change-en")
    assert tab.left_the_machine() == []
    assert tab.errors == []


@pytest.mark.parametrize(
    ("lang", "locale", "heading"), [("zh-CN", "zh_CN", "设置"), ("en", "en", "Settings")]
)
def test_the_settings_pages_render_in_each_language(
    new_tab: Callable[..., Tab],
    staff: dict[str, Actor],
    lang: str,
    locale: str,
    heading: str,
) -> None:
    tab = new_tab(lang)
    _sign_in(tab, "owner", "/admin/settings")
    if locale == "en":
        _english(tab, "/admin/settings")
    page = tab.page
    assert page.locator("h2.page-title").inner_text() == heading
    screenshot(page, f"console-settings-{locale}")
    for name in (
        "earning",
        "validity",
        "ladder",
        "growth",
        "wallet",
        "benefits",
        "policies",
        "calendar",
        "analytics",
    ):
        page.goto(f"/admin/settings/{name}")
        page.locator("#settings-form").wait_for(state="visible")
        screenshot(page, f"console-settings-{name}-{locale}")
    page.goto("/admin/tiers?growth=800&growth=5000&growth=20000")
    page.locator("#simulation .chart canvas").first.wait_for(state="visible")
    screenshot(page, f"console-tiers-{locale}")
    for path, name in (
        ("/admin/stores", "stores"),
        ("/admin/staff", "staff"),
        ("/admin/api-keys", "api-keys"),
        ("/admin/webhooks", "webhooks"),
    ):
        page.goto(path)
        page.locator("table").first.wait_for(state="visible")
        screenshot(page, f"console-{name}-{locale}")
    page.goto("/admin/jobs")
    page.click("#dry-run-expire-points")
    page.locator("#confirm-job").wait_for(state="visible")
    screenshot(page, f"console-jobs-{locale}")
    assert tab.left_the_machine() == []
    assert tab.errors == []
