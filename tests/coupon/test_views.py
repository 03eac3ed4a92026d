"""The console's coupon pages: templates, issuing by hand and in bulk, imports, the member
page's panel with revoking; who may, audited, refusals changing nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from memberkit.coupon import service
from memberkit.coupon.rules import CouponKind
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf
from tests.factories import make_member
from tests.member.test_views import form_of, signed
from tests.rest import table_contents

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]

NEW = {
    "code": "cash10",
    "name": "代金券10元",
    "kind": "cash",
    "off": "10.00",
    "valid_days": "30",
    "with_tier_discount": "yes",
    "with_points": "yes",
    "return_on_refund": "yes",
    "active": "yes",
}


@pytest.fixture
def cards(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> list[str]:
    """Two members of SH001 (one tagged vip) and one of SH002."""
    with database.session_scope() as session:
        return [
            make_member(session, program, store_code="SH001", tags=["vip"]).member_no,
            make_member(session, program, store_code="SH001").member_no,
            make_member(session, program, store_code="SH002", tags=["vip"]).member_no,
        ]


def token(client: TestClient, path: str = "/admin/coupons/new") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf(page.text)


def create(client: TestClient, **changes: str) -> Any:
    return client.post(
        "/admin/coupons/new",
        data={**NEW, **changes, "csrf_token": token(client)},
        follow_redirects=False,
    )


def test_the_owner_creates_a_template_and_sees_it_listed(
    client: TestClient, cards: list[str]
) -> None:
    signed(client, "owner")
    made = create(client)
    assert (made.status_code, made.headers["location"]) == (
        303,
        "/admin/coupons/templates/cash10?done=saved",
    )
    shown = client.get(made.headers["location"]).text
    assert "模板已保存。" in shown and 'id="issue-form"' in shown
    listed = client.get("/admin/coupons").text
    assert 'id="template-cash10"' in listed and "代金券10元" in listed
    audit = client.get("/admin/audit", params={"action": "coupon_template.create"}).text
    assert audit.count("<code>coupon_template.create</code>") == 1


def test_a_bad_form_is_refused_with_the_reason_and_nothing_is_kept(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    signed(client, "owner")
    before = table_contents(database)
    refused = create(client, kind="percent_off", off="", percent_bp="0")
    assert refused.status_code == 422
    assert "折扣" in refused.text and 'id="page-error"' in refused.text
    wrong = create(client, off="ten")
    assert wrong.status_code == 422 and 'id="error-off"' in wrong.text
    assert table_contents(database) == before


def test_issuing_by_hand_gives_the_member_a_coupon_shown_on_their_page(
    client: TestClient, cards: list[str]
) -> None:
    signed(client, "owner")
    create(client)
    page = client.get("/admin/coupons/templates/cash10").text
    form = {"csrf_token": csrf(page), "key": "a" * 32, "member_no": cards[0], "reason": "补偿"}
    done = client.post("/admin/coupons/templates/cash10/issue", data=form, follow_redirects=False)
    again = client.post("/admin/coupons/templates/cash10/issue", data=form, follow_redirects=False)
    assert done.status_code == again.status_code == 303
    member_page = client.get(f"/admin/members/{cards[0]}").text
    assert member_page.count('data-state="available"') == 1 and "代金券10元" in member_page


def test_a_bulk_issue_to_a_filter_shows_its_progress_until_done(
    client: TestClient, cards: list[str]
) -> None:
    signed(client, "owner")
    create(client)
    page = client.get("/admin/coupons/templates/cash10").text
    form = {"csrf_token": csrf(page), "key": "b" * 32, "mode": "filter", "tag": "vip"}
    started = client.post(
        "/admin/coupons/templates/cash10/batches", data=form, follow_redirects=False
    )
    assert started.status_code == 303
    for _attempt in range(100):
        progress = client.get(started.headers["location"]).text
        if 'data-state="done"' in progress:
            break
        time.sleep(0.05)
    assert 'id="batch-issued">2<' in progress
    assert 'data-state="available"' in client.get(f"/admin/members/{cards[2]}").text
    assert 'id="no-coupons"' in client.get(f"/admin/members/{cards[1]}").text


def test_a_csv_list_and_partner_codes_are_uploaded(client: TestClient, cards: list[str]) -> None:
    signed(client, "owner")
    create(client)
    page = client.get("/admin/coupons/templates/cash10").text
    listed = client.post(
        "/admin/coupons/templates/cash10/batches",
        data={"csrf_token": csrf(page), "key": "c" * 32, "mode": "list"},
        files={"members_file": ("m.csv", f"member_no\n{cards[1]}\n999\n".encode(), "text/csv")},
        follow_redirects=False,
    )
    assert listed.status_code == 303
    for _attempt in range(100):  # the batch runs in a thread: let it finish within the test
        if 'data-state="done"' in client.get(listed.headers["location"]).text:
            break
        time.sleep(0.05)
    imported = client.post(
        "/admin/coupons/templates/cash10/imports",
        data={"csrf_token": csrf(page)},
        files={"codes_file": ("c.csv", f"code,member_no\nJD-1,{cards[0]}\nJD-1,\n".encode())},
    )
    assert imported.status_code == 200
    assert "1 个券码已导入，1 个被拒。" in imported.text and "duplicate_in_file" in imported.text


def test_a_member_page_revokes_an_available_coupon_once_audited(
    client: TestClient, database: Database, program: ProgramConfig, cards: list[str]
) -> None:
    signed(client, "owner")
    create(client)
    with database.session_scope() as session:
        template = service.found(session, program=program, code="cash10")
        issued = service.issue_by_hand(
            session,
            program=program,
            template_code="cash10",
            member_no=cards[0],
            external_id="x",
            actor="t",
        )
        code = issued.coupon.code
        assert template.kind == CouponKind.cash
    form = {**form_of(client, cards[0]), "reason": "错发"}
    path = f"/admin/members/{cards[0]}/coupons/{code}/revoke"
    done = client.post(path, data=form, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (
        303,
        f"/admin/members/{cards[0]}?done=coupon-revoke",
    )
    shown = client.get(done.headers["location"]).text
    assert "优惠券已作废。" in shown and 'data-state="revoked"' in shown
    audit = client.get("/admin/audit", params={"action": "member.coupon-revoke"}).text
    assert audit.count("<code>member.coupon-revoke</code>") == 1


def test_store_roles_see_no_coupon_pages_and_an_analyst_only_reads(
    client: TestClient, database: Database, program: ProgramConfig, cards: list[str]
) -> None:
    signed(client, "manager")
    assert client.get("/admin/coupons").status_code == 403
    assert client.get("/admin/coupons/new").status_code == 403
    with database.session_scope() as session:
        staff_service.create_user(
            session,
            program_id=program.id,
            username="analyst",
            password="analyst-pass-2026",
            role="analyst",
            stores=(),
        )
    client.cookies.clear()
    body = {"username": "analyst", "password": "analyst-pass-2026", "next": "/admin"}
    assert client.post("/login", data=body, follow_redirects=False).status_code == 303
    listed = client.get("/admin/coupons")
    assert listed.status_code == 200 and 'id="new-template"' not in listed.text
    assert client.get("/admin/coupons/new").status_code == 403


def test_an_issued_templates_form_renames_it_but_refuses_new_terms(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    signed(client, "owner")
    create(client)
    page = client.get("/admin/coupons/templates/cash10").text
    issue = {"csrf_token": csrf(page), "key": "d" * 32, "member_no": cards[0]}
    client.post("/admin/coupons/templates/cash10/issue", data=issue, follow_redirects=False)
    edit = {**NEW, "csrf_token": csrf(page)}
    edit.pop("code")
    renamed = client.post(
        "/admin/coupons/templates/cash10", data={**edit, "name": "十元券"}, follow_redirects=False
    )
    assert renamed.status_code == 303
    assert 'id="terms-frozen"' in client.get("/admin/coupons/templates/cash10").text
    before = table_contents(database)
    refused = client.post("/admin/coupons/templates/cash10", data={**edit, "off": "50.00"})
    assert refused.status_code == 409 and 'id="page-error"' in refused.text
    assert table_contents(database) == before
