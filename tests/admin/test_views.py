"""The console's shell through HTTP: signing in and out, CSRF, roles, the dashboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from memberkit import demo
from memberkit.config import settings
from memberkit.db import Database
from memberkit.faces.web import COOKIE
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS
from tests.factories import make_member, post_order
from tests.rest import table_contents


def sign_in(client: TestClient, username: str, **form: str) -> Any:
    body = {"username": username, "password": PASSWORDS[username], "next": "/admin", **form}
    return client.post("/login", data=body, follow_redirects=False)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_asked_for(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    # when a page of the console is asked for without a session
    away = client.get("/admin/audit?action=x", follow_redirects=False)

    # then the visitor is sent to the sign-in page, which will come back there
    assert (away.status_code, away.headers["location"]) == (
        303,
        "/login?next=/admin/audit%3Faction%3Dx",
    )
    page = client.get(away.headers["location"])
    assert page.status_code == 200 and 'value="/admin/audit?action=x"' in page.text

    # and signing in goes there, with the session in an HttpOnly, SameSite=Lax cookie
    signed = sign_in(client, "owner", next="/admin/audit?action=x")
    assert (signed.status_code, signed.headers["location"]) == (303, "/admin/audit?action=x")
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS it is set


def test_a_sign_in_elsewhere_is_never_followed(client: TestClient, staff: dict[str, Actor]) -> None:
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)", "admin"):
        signed = sign_in(client, "owner", next=target)
        assert signed.headers["location"] == "/admin", target


def test_a_wrong_password_says_so_on_the_page_and_keeps_no_session(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    refused = client.post(
        "/login",
        data={"username": "owner", "password": "not-the-password", "next": "/admin"},
        headers={"Accept-Language": "en"},
        follow_redirects=False,
    )
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    assert 'id="login-error"' in refused.text and "owner" in refused.text


def test_the_dashboard_shows_the_programs_figures_in_text(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given a member who bought for ¥60.00
    with database.session_scope() as session:
        member = make_member(session, program)
        post_order(session, program, member, amount_minor=6000)

    # when the owner opens the dashboard
    sign_in(client, "owner")
    page = client.get("/admin")

    # then the figures are there in text, and the charts' data with them
    assert page.status_code == 200, page.text
    text = page.text
    assert re.search(r'id="members-total">1<', text)
    assert re.search(r'id="sales-total">¥60.00<', text)
    assert re.search(r'id="points-outstanding">60<', text)
    assert "已发放 60，已兑换 0，已过期 0" in text  # issued counts up, though its account runs down
    assert "data-chart=" in text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_store_manager_sees_the_figures_of_their_stores_only(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    # given a member of SH002 who bought there
    with database.session_scope() as session:
        member = make_member(session, program, store_code="SH002")
        post_order(session, program, member, amount_minor=6000, store_code="SH002")

    # when SH001's manager opens the dashboard
    sign_in(client, "manager")
    page = client.get("/admin")

    # then none of SH002's members or sales are counted, nor the chain's points
    assert page.status_code == 200, page.text
    assert re.search(r'id="members-total">0<', page.text)
    assert re.search(r'id="sales-total">¥0.00<', page.text)
    assert 'id="points-outstanding"' not in page.text


def test_a_cashier_may_not_open_the_dashboard(client: TestClient, staff: dict[str, Actor]) -> None:
    sign_in(client, "cashier")
    refused = client.get("/admin")
    assert refused.status_code == 403
    assert 'id="refusal"' in refused.text


def test_a_form_without_its_token_changes_nothing(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    before = table_contents(database)
    forged = client.post("/account/locale", data={"locale": "en", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert table_contents(database) == before
    signed_out = client.post("/logout", data={}, follow_redirects=False)
    assert signed_out.status_code == 403
    assert client.get("/admin").status_code == 200  # still signed in


def test_the_language_switch_is_remembered_and_signing_out_ends_the_session(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    page = client.get("/admin")
    assert "概览" in page.text
    switched = client.post(
        "/account/locale",
        data={"locale": "en", "next": "/admin", "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert (switched.status_code, switched.headers["location"]) == (303, "/admin")
    english = client.get("/admin")
    assert "Dashboard" in english.text and "概览" not in english.text

    out = client.post("/logout", data={"csrf_token": csrf(english.text)}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert client.get("/admin", follow_redirects=False).status_code == 303
    again = sign_in(client, "owner")
    assert again.status_code == 303
    assert "Dashboard" in client.get("/admin").text  # the choice stays with the account


def test_the_dashboard_says_how_far_the_demo_is_loaded_while_it_loads(
    client: TestClient,
    staff: dict[str, Actor],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a demo loading behind the server (make run), a fifth of its orders in
    monkeypatch.setattr(settings, "data_dir", tmp_path)
    demo._record(state="loading", stage="orders", done=12000, total=60000, percent=20)

    # when the owner opens the dashboard, then it says so, the stage named in Chinese
    sign_in(client, "owner")
    assert "记录订单与退货：12,000/60,000，20%" in client.get("/admin").text
    # stopped midway, it says the loading resumes at the next start; once loaded, nothing
    demo._record(state="interrupted", stage="orders", done=12000, total=60000, percent=20)
    assert "下次启动服务器（make run）时会从停止处继续加载" in client.get("/admin").text
    demo._record(state="loaded")
    assert 'id="demo-loading"' not in client.get("/admin").text


def test_a_sign_in_posted_from_another_sites_page_is_refused(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    # a login CSRF: another site's form would sign the visitor in to its own account
    body = {"username": "owner", "password": PASSWORDS["owner"], "next": "/admin"}
    for origin in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}):
        refused = client.post("/login", data=body, headers=origin, follow_redirects=False)
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
    ours = client.post(
        "/login", data=body, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert ours.status_code == 303


def test_staff_pages_are_never_kept_in_a_browsers_cache(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    assert client.get("/admin").headers["cache-control"] == "no-store"
    assert client.get("/login").headers["cache-control"] == "no-store"
