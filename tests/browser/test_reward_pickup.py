"""A reward redeemed through the API is handed over at the till and shows picked up on the
console.

An integrator's API key defines a tumbler of 300 points (+ ¥9.90 at pickup) and redeems one for
a member; the cashier of SH001 scans the member, opens the rewards waiting for them and hands
it over; the store's manager, in a browser of their own, finds it picked up at SH001 on the
console's redemptions page. Screenshots in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import expect

from memberkit.db import Database
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_pos_to_console import sign_in, speak
from tests.pos.conftest import cheap_hashes, member, staff
from tests.rest import make_key

__all__ = ["cheap_hashes", "member", "staff"]


@pytest.mark.parametrize(("locale", "lang"), [("zh_CN", "zh-CN"), ("en", "en")])
def test_a_redemption_made_through_the_api_is_handed_over_at_the_till(
    new_tab: Callable[..., Tab],
    served: str,
    database: Database,
    member: str,
    locale: str,
    lang: str,
) -> None:
    # given a tumbler in the catalog, and the member's redemption of one through the API
    card = member
    admin = {"Authorization": f"Bearer {make_key(database, 'admin')}"}
    defined = httpx.post(
        f"{served}/api/v1/rewards",
        headers=admin,
        json={"code": "tumbler", "kind": "goods", "name": "保温杯", "points": 300, "cash": "9.90"},
    )
    assert defined.status_code in (200, 201), defined.text
    redeemed = httpx.post(
        f"{served}/api/v1/members/{card}/redemptions",
        headers=admin,
        json={"reward": "tumbler", "external_id": f"MINI-{locale}"},
    )
    assert redeemed.status_code == 201, redeemed.text

    # when the cashier of SH001 scans the member and opens what waits for them
    till = new_tab(lang)
    page = till.page
    sign_in(page, "cashier", "/pos")
    speak(page, lang)
    page.keyboard.type(card)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/pos\?m={card}$"))
    page.locator("#member-rewards").click()
    page.wait_for_url(re.compile(rf"/pos/rewards\?m={card}$"))
    waiting = page.locator(f"#pending-MINI-{locale}")
    expect(waiting).to_contain_text("¥9.90")
    screenshot(page, f"reward-pickup-waiting-{locale}")

    # and hands it over
    page.locator(f"#hand-over-MINI-{locale}").click()
    expect(page.locator("#pickup-done")).to_contain_text("¥9.90")
    expect(page.locator(f"#pending-MINI-{locale}")).to_have_count(0)
    screenshot(page, f"reward-pickup-done-{locale}")

    # then the store's manager finds it picked up at SH001 on the console
    console = new_tab(lang)
    desk = console.page
    sign_in(desk, "manager", "/admin/redemptions")
    speak(desk, lang)
    row = desk.locator(f"#redemption-MINI-{locale}")
    expect(row.locator(".redemption-status")).to_contain_text("SH001")
    expect(row.locator(".redemption-status")).to_contain_text(
        "已领取" if locale == "zh_CN" else "picked up"
    )
    screenshot(desk, f"reward-redemptions-console-{locale}")

    for tab in (till, console):
        assert tab.left_the_machine() == []
        assert tab.errors == []


@pytest.mark.parametrize(("locale", "lang"), [("zh_CN", "zh-CN"), ("en", "en")])
def test_the_owner_puts_a_reward_in_the_catalog_from_the_console(
    new_tab: Callable[..., Tab], staff: object, locale: str, lang: str
) -> None:
    # given the owner on the catalog page
    tab = new_tab(lang)
    page = tab.page
    sign_in(page, "owner", "/admin/rewards")
    speak(page, lang)

    # when a tumbler of 500 points + ¥9.90, 10 in stock, 2 a month per member, is added
    code = f"tumbler_{locale.lower()}"
    page.locator("#reward-code").fill(code)
    page.locator("#reward-name").fill("保温杯")
    page.locator("#reward-points").fill("500")
    page.locator("#reward-cash").fill("9.90")
    page.locator("#reward-stock").fill("10")
    page.locator("#reward-limit_count").fill("2")
    page.locator("#reward-limit_period").select_option("month")
    page.locator("#reward-tier-gold").check()
    page.locator("#create-reward").click()

    # then it is listed with its price and stock
    page.wait_for_url(re.compile(r"/admin/rewards\?done=true$"))
    row = page.locator(f"#reward-{code}")
    expect(row).to_contain_text("¥9.90")
    expect(row.locator(".reward-stock")).to_have_text("10")
    screenshot(page, f"reward-catalog-{locale}")
    page.locator(f"#reward-{code} a").click()
    expect(page.locator("#reward-stock")).to_have_value("10")
    screenshot(page, f"reward-edit-{locale}")
    assert tab.left_the_machine() == []
    assert tab.errors == []
