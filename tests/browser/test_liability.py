"""The liability page in a real browser: it shows what the ledger holds, in both languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger import liability
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.wallet import service as wallet_service
from tests.browser.conftest import Tab, screenshot
from tests.browser.test_console import sign_in
from tests.factories import make_member, post_order
from tests.staff.conftest import cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]


@pytest.mark.parametrize(("lang", "heading"), [("zh-CN", "负债"), ("en", "Liability")])
def test_the_liability_page_shows_what_the_ledger_holds(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
    heading: str,
) -> None:
    # given a member of SH001 who bought for ¥128.00 and recharged ¥1,000.00
    with database.session_scope() as session:
        member = make_member(session, program, store_code="SH001")
        post_order(session, program, member, amount_minor=12_800, store_code="SH001")
        wallet_service.recharge(
            session,
            program=program,
            member_no=member.member_no,
            external_id="RC-1",
            amount_minor=100_000,
            method="wechat",
            store_code="SH001",
            occurred_at=utcnow() - timedelta(minutes=1),
        )
    tab = new_tab(lang)
    sign_in(tab, "owner")
    page = tab.page
    page.wait_for_url("**/admin")
    if lang == "en":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url("**/admin")

    # when the owner opens the liability page from the menu's reports
    page.click("#nav-reports")
    page.click("#navbar-menu a.dropdown-item[href='/admin/liability']")
    page.wait_for_url("**/admin/liability")

    # then its totals are the report's, which the ledger's entries prove (tests/ledger)
    with database.session_scope(read_only=True) as session:
        report = liability.report(session, program=program)
    assert page.locator("h2.page-title").inner_text().startswith(heading)
    assert page.locator("#total-points").inner_text() == f"{report.total.points:,}"
    assert page.locator("#total-principal").inner_text() == "¥1,000.00"
    assert page.locator("#total-bonus").inner_text() == "¥150.00"
    screenshot(page, f"console-liability-{'zh_CN' if lang == 'zh-CN' else 'en'}")
    assert tab.left_the_machine() == []
    assert tab.errors == []
