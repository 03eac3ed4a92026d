"""A cashier scans a coupon on the sale screen, sees the preview, posts, and the receipt shows
the discounts (real browser)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from tests.browser.conftest import Tab
from tests.browser.test_pos import shots, sign_in
from tests.coupon.factories import grant_tier_discount, make_coupon, make_template
from tests.pos.conftest import cheap_hashes, member, staff

__all__ = ["cheap_hashes", "member", "staff"]


@pytest.mark.parametrize(("locale", "lang"), [("zh_CN", "zh-CN"), ("en", "en")])
def test_a_cashier_scans_a_coupon_previews_and_the_receipt_shows_the_discounts(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    member: str,
    locale: str,
    lang: str,
) -> None:
    # given regular members pay 95 % and the member holds a ¥10.00 voucher
    with database.session_scope() as session:
        grant_tier_discount(session, program, rate=9500)
        holder = session.scalars(select(Member).where(Member.member_no == member)).one()
        code = make_coupon(session, make_template(session, program, name="十元券"), holder).code
    tab = new_tab(lang)
    page = tab.page
    sign_in(page, "cashier")
    if locale == "en":
        page.locator("#account-menu").click()
        page.locator("#switch-language").click()
        page.wait_for_url(re.compile(r"/pos$"))
    page.keyboard.type(member)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/pos\?m={member}$"))

    # when the cashier rings up ¥100.00, scans the coupon and previews
    page.locator("#sale-amount").fill("100.00")
    page.locator("#sale-coupons").click()
    page.keyboard.type(code)
    page.locator("#preview-sale").click()

    # then the preview shows both discounts, what is due and what it earns
    expect(page.locator("#preview-lines")).to_have_text("¥100.00")
    expect(page.locator("#preview-tier-discount")).to_have_text("−¥5.00")
    expect(page.locator(f'.preview-coupon[data-code="{code}"]')).to_have_text("−¥10.00")
    expect(page.locator("#preview-total")).to_have_text("¥85.00")
    expect(page.locator("#preview-points-earned")).to_have_text("85")
    shots(page, "coupon-preview", locale)

    # when they confirm, the receipt shows the discounts
    page.locator("#confirm-sale").click()
    page.wait_for_url(re.compile(r"/pos/receipt/POS-"))
    expect(page.locator("#receipt-lines-amount")).to_have_text("¥100.00")
    expect(page.locator("#receipt-tier-discount")).to_have_text("−¥5.00")
    expect(page.locator(f'#receipt-lines [data-code="{code}"]')).to_have_text("−¥10.00")
    expect(page.locator("#receipt-total")).to_have_text("¥85.00")
    shots(page, "coupon-receipt", locale)
    assert tab.left_the_machine() == []
    assert tab.errors == []
