"""Each of the six roles in a real browser; editing a staff account; the store picker; the
audit log's filters. Screenshots of the new pages in both languages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from memberkit.db import Database
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from memberkit.store.models import Store
from tests.browser.conftest import Tab, screenshot
from tests.factories import make_member, post_order
from tests.staff.conftest import PASSWORDS, cheap_hashes, staff

__all__ = ["cheap_hashes", "staff"]

MORE = {"marketer": "marketer-pass-2026", "analyst": "analyst-pass-2026"}
ALL_PAGES = [
    "/admin",
    "/admin/members",
    "/admin/tiers",
    "/admin/benefits",
    "/admin/coupons",
    "/admin/rewards",
    "/admin/redemptions",
    "/admin/segments",
    "/admin/liability",
    "/admin/reports/sales",
    "/admin/reports/points",
    "/admin/reports/members",
    "/admin/rfm",
    "/admin/forecast",
    "/admin/settings",
    "/admin/stores",
    "/admin/staff",
    "/admin/api-keys",
    "/admin/webhooks",
    "/admin/jobs",
    "/admin/audit",
    "/pos",
]
#: What each role's menu holds, in order (README "Staff and roles").
MENUS = {
    "owner": ALL_PAGES,
    "admin": ALL_PAGES,
    "marketer": ALL_PAGES[:15],
    # A store manager sees the reports of their stores; the forecast is the whole program's.
    "manager": [*ALL_PAGES[:4], *ALL_PAGES[5:13], "/admin/settings", "/pos"],
    "cashier": ["/admin/members", "/pos"],
    "analyst": ALL_PAGES[:15],
}
#: A page each role is refused (the owner: an admin's tool they may use, so none).
REFUSED = {
    "admin": "/admin/staff/owner",
    "marketer": "/admin/staff",
    "manager": "/admin/audit",
    "cashier": "/admin",
    "analyst": "/pos",
}


@pytest.fixture
def six_roles(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> str:
    """The four staff accounts, a marketer and an analyst; a member of SH001 who bought."""
    with database.session_scope() as session:
        for username, password in MORE.items():
            staff_service.create_user(
                session,
                program_id=program.id,
                username=username,
                password=password,
                role=username,
                locale="en",
            )
        member = make_member(session, program, store_code="SH001")
        post_order(session, program, member, amount_minor=6000, store_code="SH001")
        return member.member_no


def sign_in(tab: Tab, username: str, *, english: bool = True) -> None:
    page = tab.page
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS.get(username) or MORE[username])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/(admin|pos)$"))
    if english and page.locator("#switch-language").inner_text() == "English":
        page.click("#account-menu")
        page.click("#switch-language")
        page.wait_for_url(re.compile(r"/(admin|pos)$"))


def menu(page: Page) -> list[str]:
    return [
        str(link.get_attribute("href"))
        for link in page.locator(
            "#navbar-menu a.nav-link:not(.dropdown-toggle), #navbar-menu a.dropdown-item"
        ).all()
    ]


@pytest.mark.parametrize("username", list(MENUS))
def test_each_role_sees_and_may_do_what_its_role_allows(
    new_tab: Callable[..., Tab], six_roles: str, username: str
) -> None:
    tab = new_tab("en")
    sign_in(tab, username)
    page = tab.page

    # the cashier lands on the till, everyone else on the console
    assert page.url.endswith("/pos" if username == "cashier" else "/admin")
    assert menu(page) == MENUS[username]
    screenshot(page, f"role-{username}-home-en")

    # a page the role may not use is refused with the refusal page
    if username in REFUSED:
        answer = page.goto(REFUSED[username])
        assert answer is not None and answer.status == 403
        expect(page.locator("#refusal")).to_be_visible()
    else:
        page.goto("/admin/staff/owner")
        expect(page.locator("#edit-staff")).to_be_visible()
        assert page.locator("#disable-owner").count() == 0  # not themselves

    # the member's page: only the roles that may change a member see its buttons
    page.goto(f"/admin/members/{six_roles}")
    expect(page.locator("h2.page-title")).to_be_visible()
    buttons = {
        name: page.locator(f"#{name}").count()
        for name in ("adjust-submit", "freeze", "profile-submit")
    }
    chain = username in ("owner", "admin")
    assert buttons == {
        "adjust-submit": int(chain),
        "freeze": int(chain),
        "profile-submit": int(username in ("owner", "admin", "marketer", "manager")),
    }
    if username == "analyst":
        # reads the settings, with no button to change them
        page.goto("/admin/settings/earning")
        expect(page.locator("#read-only")).to_be_visible()
        assert page.locator("#save-settings").count() == 0
        page.goto("/admin/tiers?growth=800&growth=5000&growth=20000")
        page.locator("#tier-counts").wait_for(state="visible")
        assert page.locator("#save-thresholds").count() == 0
        assert page.locator("#content form[method=post]").count() == 0
        screenshot(page, "role-analyst-tiers-en")
    assert tab.left_the_machine() == []
    assert [error for error in tab.errors if "403" not in error] == []


@pytest.mark.parametrize(("lang", "locale"), [("zh-CN", "zh_CN"), ("en", "en")])
def test_an_admin_edits_a_cashier_and_sees_refusals_beside_their_fields(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
    locale: str,
) -> None:
    tab = new_tab(lang)
    sign_in(tab, "admin", english=locale == "en")
    page = tab.page
    page.goto("/admin/staff")
    page.click("#edit-cashier")
    page.wait_for_url("**/admin/staff/cashier")
    # an admin is offered no owner role
    assert page.locator("#edit-role option[value=owner]").count() == 0
    screenshot(page, f"console-staff-account-{locale}")

    # the cashier becomes the store manager of SH001 and SH002
    page.fill("#edit-display_name", "王店长")
    page.select_option("#edit-role", "store_manager")
    page.select_option("#edit-stores", ["SH001", "SH002"])
    page.click("#save-staff")
    page.wait_for_url("**/admin/staff/cashier?done=true")
    expect(page.locator("#page-done")).to_be_visible()
    with database.session_scope(read_only=True) as session:
        view = staff_service.get(session, program_id=program.id, username="cashier")
    assert (view.display_name, view.role, view.stores) == (
        "王店长",
        "store_manager",
        ("SH001", "SH002"),
    )

    # a marketer with stores is refused beside the stores, nothing changes
    page.select_option("#edit-role", "marketer")
    page.click("#save-staff")
    expect(page.locator("#error-stores")).to_be_visible()
    screenshot(page, f"console-staff-account-stores-refused-{locale}")
    # and a password too short, beside the password
    page.fill("#reset-password", "short")
    page.click("#reset-cashier")
    expect(page.locator("#error-password")).to_be_visible()
    screenshot(page, f"console-staff-account-refused-{locale}")
    with database.session_scope(read_only=True) as session:
        again = staff_service.get(session, program_id=program.id, username="cashier")
    assert again == view

    # disabling the account says so on its page
    page.click("#disable-cashier")
    page.wait_for_url("**/admin/staff/cashier?done=true")
    assert page.locator("#account-state").inner_text() in ("Disabled", "已停用")
    assert page.locator("#enable-cashier").count() == 1
    assert tab.left_the_machine() == []
    # the two refusals (422) are the only console messages
    assert [error for error in tab.errors if "422" not in error] == []


@pytest.mark.parametrize(("lang", "locale"), [("zh-CN", "zh_CN"), ("en", "en")])
def test_a_cashier_of_two_stores_picks_one_in_the_navbar_and_sells_there(
    new_tab: Callable[..., Tab],
    database: Database,
    program: ProgramConfig,
    staff: dict[str, Actor],
    lang: str,
    locale: str,
) -> None:
    with database.session_scope() as session:
        staff_service.update_user(
            session, program_id=program.id, username="cashier", stores=["SH001", "SH002"]
        )
        card = make_member(session, program, store_code="SH001").member_no
    tab = new_tab(lang)
    sign_in(tab, "cashier", english=locale == "en")
    page = tab.page
    expect(page.locator("#working-store")).to_have_text("SH001")
    page.click("#store-menu")
    expect(page.locator("#choose-store-SH002")).to_be_visible()
    screenshot(page, f"pos-store-picker-{locale}")
    page.click("#choose-store-SH002")
    page.wait_for_url(re.compile(r"/pos$"))
    expect(page.locator("#working-store")).to_have_text("SH002")
    expect(page.locator("#till-store")).to_have_text("SH002")

    # a sale rung up now is booked to SH002
    page.locator("#identify").fill(card)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/pos\?m={card}$"))
    page.locator("#sale-amount").fill("30.00")
    page.locator("#preview-sale").click()
    page.locator("#confirm-sale").click()
    page.wait_for_url(re.compile(r"/pos/receipt/POS-"))
    with database.session_scope(read_only=True) as session:
        stores = session.scalars(
            select(Store.code)
            .join(Order, Order.store_id == Store.id)
            .where(Order.external_id.like("POS-%"))
        ).all()
    assert stores == ["SH002"]
    screenshot(page, f"pos-store-picked-{locale}")
    assert tab.left_the_machine() == []
    assert tab.errors == []

    # a cashier of one store sees no picker
    with database.session_scope() as session:
        staff_service.update_user(
            session, program_id=program.id, username="manager", stores=["SH001"]
        )
    other = new_tab(lang)
    sign_in(other, "manager", english=locale == "en")
    other.page.goto("/pos")
    assert other.page.locator("#store-menu").count() == 0


@pytest.mark.parametrize(("lang", "locale"), [("zh-CN", "zh_CN"), ("en", "en")])
def test_the_audit_log_is_filtered_by_actor_and_days_and_says_what_it_cannot_read(
    new_tab: Callable[..., Tab], staff: dict[str, Actor], lang: str, locale: str
) -> None:
    # given the admin's changes (the four accounts were made from the CLI)
    tab = new_tab(lang)
    sign_in(tab, "admin", english=locale == "en")
    page = tab.page
    page.goto("/admin/staff/cashier")
    page.fill("#edit-display_name", "收银员小李")
    page.click("#save-staff")
    page.wait_for_url("**/admin/staff/cashier?done=true")

    # when the log is filtered by the admin and today
    page.goto("/admin/audit")
    page.fill("#filter-actor", "admin")
    page.select_option("#filter-kind", "staff")
    page.click("#apply-filters")
    page.wait_for_url(re.compile(r"/admin/audit\?actor=admin"))
    rows = page.locator("tr.audit-entry")
    expect(rows).to_have_count(1)
    assert "staff.update" in rows.first.inner_text()
    assert "kind=staff" in page.url
    screenshot(page, f"console-audit-filtered-{locale}")

    # then a name nobody has and a day that is none are said beside their fields
    page.fill("#filter-actor", "nobody")
    page.fill("#filter-since", "2026-02-30")
    page.click("#apply-filters")
    expect(page.locator("#error-actor")).to_be_visible()
    page.fill("#filter-actor", "")
    page.click("#apply-filters")
    expect(page.locator("#error-since")).to_be_visible()
    expect(page.locator("#no-entries")).to_be_visible()
    screenshot(page, f"console-audit-refused-{locale}")
    page.click("#clear-filters")
    page.wait_for_url(re.compile(r"/admin/audit$"))
    assert page.locator("tr.audit-entry").count() >= 5
    assert tab.left_the_machine() == []
    assert [error for error in tab.errors if "422" not in error] == []


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_owners_menu_fits_one_line_and_its_dropdowns_lead_to_their_pages(
    new_tab: Callable[..., Tab], six_roles: str, lang: str
) -> None:
    # given the owner, with the longest menu, on a 1280-pixel screen
    tab = new_tab(lang)
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(tab, "owner", english=lang == "en")
    page = tab.page

    # then the menu's lines stand on one row
    tops = page.locator("#navbar-menu > ul > li").evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    assert len(tops) == 6 and len(set(tops)) == 1, tops

    # and the system dropdown opens on a tap and leads to the staff page
    page.click("#nav-system")
    expect(page.locator("#navbar-menu a.dropdown-item[href='/admin/staff']")).to_be_visible()
    screenshot(page, f"console-menu-system-{'en' if lang == 'en' else 'zh_CN'}")
    page.click("#navbar-menu a.dropdown-item[href='/admin/staff']")
    page.wait_for_url("**/admin/staff")
    assert page.locator("#nav-system").evaluate("e => e.parentElement.className").endswith("active")
    assert tab.errors == []
