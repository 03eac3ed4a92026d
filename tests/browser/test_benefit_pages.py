"""Benefits in the browser: a cashier verifies (核销) a parking voucher at the till, and an admin
sees the use on the member's page and the catalog. Screenshots in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from memberkit.benefit import service
from memberkit.benefit.rules import BenefitKind, Period
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_pos_to_console import sign_in, speak
from tests.pos.conftest import cheap_hashes, member, staff

__all__ = ["cheap_hashes", "member", "staff"]


@pytest.fixture
def parking(database: Database, program: ProgramConfig, member: str) -> None:
    """2 free parking vouchers a month for regular members (the member's tier)."""
    with database.session_scope() as session:
        service.define(
            session,
            program=program,
            code="free_parking",
            kind=BenefitKind.parking,
            name="免费停车",
            description="每次 2 小时",
            icon="ti-parking",
        )
        service.grant(
            session,
            program=program,
            code="free_parking",
            grants=[service.GrantIn("regular", 2, Period.month, 2)],
        )


@pytest.mark.parametrize(("locale", "lang"), [("zh_CN", "zh-CN"), ("en", "en")])
def test_a_cashier_verifies_a_parking_voucher_and_an_admin_sees_the_use(
    new_tab: Callable[..., Tab], member: str, parking: None, locale: str, lang: str
) -> None:
    # given the cashier of SH001 at the till, and a member with 2 parking vouchers a month
    card = member
    till = new_tab(lang)
    page = till.page
    sign_in(page, "cashier", "/pos")
    speak(page, lang)

    # when the member's card is scanned and their benefits opened
    page.locator("#identify").focus()
    page.keyboard.type(card)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/pos\?m={card}$"))
    page.locator("#member-benefits-link").click()
    page.wait_for_url(re.compile(rf"/pos/benefits\?m={card}$"))
    expect(page.locator("#left-free_parking")).to_have_text("2")

    # and one voucher is verified
    page.locator("#verify-free_parking").click()

    # then the till says so, with 1 left, and lists the use with its undo form
    expect(page.locator("#benefit-done")).to_be_visible()
    expect(page.locator("#left-free_parking")).to_have_text("1")
    expect(page.locator("#benefit-uses .benefit-use")).to_have_count(1)
    expect(page.locator("#undo-form-1")).to_be_visible()
    screenshot(page, f"benefits-pos-{locale}")

    # and an admin, signed in elsewhere, sees what is left and the use on the member's page
    console = new_tab(lang)
    desk = console.page
    sign_in(desk, "admin", f"/admin/members/{card}")
    speak(desk, lang)
    left = desk.locator("#member-benefit-free_parking .benefit-left")
    expect(left).to_have_text("剩余 1 / 2" if locale == "zh_CN" else "1 of 2 left")
    expect(desk.locator("#benefit-uses tr.benefit-use")).to_have_count(1)
    expect(desk.locator("#benefit-uses .use-name")).to_have_text("免费停车")
    desk.locator("#benefits").scroll_into_view_if_needed()
    screenshot(desk, f"benefits-member-page-{locale}")

    # and the catalog lists the benefit with its grant
    desk.goto("/admin/benefits")
    expect(desk.locator("#benefit-free_parking .benefit-name")).to_have_text("免费停车")
    expect(desk.locator("#quota-free_parking-regular")).to_have_value("2")
    screenshot(desk, f"benefits-catalog-{locale}")

    for tab in (till, console):
        assert tab.left_the_machine() == []
        assert tab.errors == []
