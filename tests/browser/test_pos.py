"""The cashier screen in a real browser: a scanner identifies, a sale paid partly with points
and stored value is previewed and posted, refunded, and the wallet recharged."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.wallet import service as wallet_service
from tests.browser.conftest import Tab, screenshot
from tests.factories import make_member, post_order
from tests.staff.conftest import PASSWORDS, cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]

PORTRAIT = {"width": 800, "height": 1280}


@pytest.fixture
def card(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> str:
    """A member of SH001 with 500 points and ¥300.00 of stored value; their card number."""
    with database.session_scope() as session:
        member = make_member(session, program, name="王小明", store_code="SH001")
        post_order(session, program, member, amount_minor=50000, store_code="SH001")
        wallet_service.recharge(
            session,
            program=program,
            member_no=member.member_no,
            external_id="W-browser",
            amount_minor=30000,
            method="cash",
            store_code="SH001",
            occurred_at=member.created_at,
        )
        return member.member_no


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORDS[username])
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(r"/pos$"))


def shots(page: Page, name: str, locale: str) -> None:
    """A screenshot in landscape (the tab's size) and one in portrait."""
    screenshot(page, f"pos-{name}-{locale}-landscape")
    page.set_viewport_size(PORTRAIT)
    screenshot(page, f"pos-{name}-{locale}-portrait")
    page.set_viewport_size({"width": 1280, "height": 800})


@pytest.mark.parametrize(("locale", "lang"), [("zh_CN", "zh-CN"), ("en", "en")])
def test_a_cashier_sells_with_points_and_wallet_refunds_and_recharges(
    new_tab: Callable[..., Tab], card: str, locale: str, lang: str
) -> None:
    tab = new_tab(lang)
    page = tab.page
    sign_in(page, "cashier")
    if locale == "en":
        page.locator("#account-menu").click()
        page.locator("#switch-language").click()
        page.wait_for_url(re.compile(r"/pos$"))
    # the identify field has the focus: a scanner types the card number and presses Enter
    expect(page.locator("#identify")).to_be_focused()
    shots(page, "till", locale)
    page.keyboard.type(card)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/pos\?m={card}$"))
    expect(page.locator("#member-points")).to_have_text("500")
    expect(page.locator("#member-wallet")).to_have_text("¥300.00")
    expect(page.locator("#member-name")).to_have_text("王**")
    shots(page, "member", locale)

    # a sale of ¥100.00: 200 points, ¥50.00 stored value, the rest cash; previewed first
    page.locator("#sale-amount").fill("100.00")
    page.locator("#pay-points").fill("200")
    page.locator("#pay-wallet").fill("50.00")
    page.locator("#preview-sale").click()
    expect(page.locator("#preview-points-paid")).to_have_text("200")
    expect(page.locator("#preview-wallet-paid")).to_have_text("¥50.00")
    expect(page.locator("#preview-most-points")).to_have_text("500")
    shots(page, "preview", locale)
    page.locator("#confirm-sale").click()
    page.wait_for_url(re.compile(r"/pos/receipt/POS-"))
    expect(page.locator("#receipt-total")).to_have_text("¥100.00")
    order_no = page.locator("#receipt-order").inner_text()
    shots(page, "receipt", locale)
    page.emulate_media(media="print")
    assert page.locator(".navbar").first.evaluate("e => getComputedStyle(e).display") == "none"
    page.emulate_media(media="screen")

    # the refund of the whole order, found by its number (scanned from the receipt)
    page.goto("/pos/refund")
    expect(page.locator("#refund-order")).to_be_focused()
    page.keyboard.type(order_no)
    page.keyboard.press("Enter")
    expect(page.locator("#refundable")).to_have_text("¥100.00")
    shots(page, "refund", locale)
    page.locator("#refund-all").click()
    expect(page.locator("#refund-done")).to_be_visible()
    expect(page.locator("#refund-nothing-left")).to_be_visible()

    # a recharge of ¥500.00 shows its ¥50.00 bonus before it is taken
    page.goto(f"/pos?m={card}")
    expect(page.locator("#member-wallet")).to_have_text("¥300.00")
    page.locator("#recharge-amount").fill("500.00")
    page.locator("#recharge-method").select_option("wechat")
    page.locator("#recharge-preview").click()
    expect(page.locator("#recharge-bonus")).to_have_text("¥50.00")
    shots(page, "recharge", locale)
    page.locator("#confirm-recharge").click()
    expect(page.locator("#recharge-done")).to_be_visible()
    expect(page.locator("#member-wallet")).to_have_text("¥850.00")

    assert tab.left_the_machine() == []
    assert tab.errors == []
