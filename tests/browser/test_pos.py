"""The cashier screen in a real browser: a scanner identifies, a sale paid partly with points
and stored value is previewed and posted, refunded, and the wallet recharged."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Tab, screenshot
from tests.pos.conftest import PASSWORDS, cheap_hashes, member, staff

__all__ = ["cheap_hashes", "member", "staff"]

PORTRAIT = {"width": 800, "height": 1280}


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
    new_tab: Callable[..., Tab], member: str, locale: str, lang: str
) -> None:
    card = member
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
    expect(page.locator("#member-name")).to_have_text("张**")
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
