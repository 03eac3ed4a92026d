"""From the till to the console: a sale rung up at /pos is on the member's console page.

A cashier identifies a member with the scanner, previews and posts a sale paid partly with
points and stored value; the store's manager, in a browser of their own, opens the member's
page and finds that order (its number, amount, the points it earned and spent) and the
wallet after it. Screenshots in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Tab, screenshot
from tests.pos.conftest import PASSWORDS, cheap_hashes, member, staff

__all__ = ["cheap_hashes", "member", "staff"]


def sign_in(page: Page, username: str, next_path: str) -> None:
    page.goto(f"/login?next={next_path}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORDS[username])
    page.locator("input[name=password]").press("Enter")
    page.wait_for_url(re.compile(rf"{re.escape(next_path)}$"))


def speak(page: Page, lang: str) -> None:
    """Switch the signed-in account's console to ``lang`` (``zh-CN`` or ``en``) if it is not."""
    if (page.locator("html").get_attribute("lang") or "").startswith(lang[:2]):
        return
    here = page.url
    page.locator("#account-menu").click()
    page.locator("#switch-language").click()
    page.wait_for_url(here)
    assert (page.locator("html").get_attribute("lang") or "").startswith(lang[:2])


@pytest.mark.parametrize(("locale", "lang"), [("zh_CN", "zh-CN"), ("en", "en")])
def test_a_sale_posted_at_the_till_shows_on_the_members_console_page(
    new_tab: Callable[..., Tab], member: str, locale: str, lang: str
) -> None:
    # given the cashier of SH001 at the till, and a member holding 500 points and ¥300.00
    card = member
    till = new_tab(lang)
    page = till.page
    sign_in(page, "cashier", "/pos")
    speak(page, lang)

    # when a scanner types the member's card number and presses Enter
    expect(page.locator("#identify")).to_be_focused()
    page.keyboard.type(card)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/pos\?m={card}$"))
    expect(page.locator("#member-points")).to_have_text("500")
    expect(page.locator("#member-wallet")).to_have_text("¥300.00")

    # and a sale of ¥120.00 is previewed: 200 points (¥2.00), ¥50.00 stored value, the rest cash
    page.locator("#sale-amount").fill("120.00")
    page.locator("#pay-points").fill("200")
    page.locator("#pay-wallet").fill("50.00")
    page.locator("#preview-sale").click()
    expect(page.locator("#preview-total")).to_have_text("¥120.00")
    expect(page.locator("#preview-points-paid")).to_have_text("200")
    expect(page.locator("#preview-wallet-paid")).to_have_text("¥50.00")
    earned = page.locator("#preview-points-earned").inner_text()
    assert int(earned.replace(",", "")) > 0
    screenshot(page, f"pos-to-console-preview-{locale}")

    # and confirmed
    page.locator("#confirm-sale").click()
    page.wait_for_url(re.compile(r"/pos/receipt/POS-"))
    order_no = page.locator("#receipt-order").inner_text().strip()
    expect(page.locator("#receipt-total")).to_have_text("¥120.00")
    screenshot(page, f"pos-to-console-receipt-{locale}")

    # then the store's manager, signed in elsewhere, finds the order on the member's page
    console = new_tab(lang)
    desk = console.page
    sign_in(desk, "manager", f"/admin/members/{card}")
    speak(desk, lang)
    row = desk.locator(f'#orders tr.order-row[data-order="{order_no}"]')
    expect(row).to_have_count(1)
    expect(row.locator(".order-no")).to_have_text(order_no)
    expect(row.locator(".order-amount")).to_have_text("¥120.00")
    expect(row.locator(".order-points-earned")).to_have_text(earned)
    expect(row.locator(".order-points-paid")).to_have_text("200")
    expect(row.locator(".order-wallet-paid")).to_have_text("¥50.00")
    # with the wallet after the sale (¥300.00 − ¥50.00)
    expect(desk.locator("#wallet-total")).to_have_text("¥250.00")
    row.scroll_into_view_if_needed()
    screenshot(desk, f"pos-to-console-member-page-{locale}")

    for tab in (till, console):
        assert tab.left_the_machine() == []
        assert tab.errors == []
