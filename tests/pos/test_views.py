"""The cashier screen through HTTP: identify, preview, sell, refund, recharge, register."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from memberkit.tier import repository as tier_repository
from memberkit.tier.models import TierNotice
from memberkit.wallet import service as wallet_service
from tests.factories import post_order
from tests.pos.conftest import PASSWORDS, PHONE
from tests.rest import table_contents


def sign_in(client: TestClient, username: str) -> Any:
    body = {"username": username, "password": PASSWORDS[username], "next": "/admin"}
    return client.post("/login", data=body, follow_redirects=False)


def form_of(page: str, form_id: str) -> dict[str, Any]:
    """The hidden fields of the form ``form_id`` on the page (its token, key, member…)."""
    found = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.S)
    assert found, f"no form {form_id}"
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', found.group(0)):
        if name in fields:
            kept = fields[name]
            fields[name] = [*kept, value] if isinstance(kept, list) else [kept, value]
        else:
            fields[name] = value
    return fields


def till(client: TestClient, member_no: str) -> str:
    page = client.get(f"/pos?m={member_no}")
    assert page.status_code == 200, page.text
    return page.text


def test_a_cashier_lands_on_the_till_and_a_manager_has_a_link_to_it(
    client: TestClient, staff: dict[str, Actor]
) -> None:
    signed = sign_in(client, "cashier")
    assert (signed.status_code, signed.headers["location"]) == (303, "/pos")
    page = client.get("/pos")
    assert page.status_code == 200
    assert re.search(r'id="identify" name="q"[^>]*autofocus', page.text)
    assert "<script>" not in page.text and " style=" not in page.text

    manager = TestClient(client.app)
    assert sign_in(manager, "manager").headers["location"] == "/admin"
    assert 'href="/pos"' in manager.get("/admin").text


@pytest.mark.parametrize("way", ["card", "phone", "qr"])
def test_identify_by_card_number_phone_or_qr_token(
    client: TestClient, database: Database, program: ProgramConfig, member: str, way: str
) -> None:
    # given the member's card number, phone (as typed, with spaces) or a fresh QR token
    typed = {"card": member, "phone": "139 1234 5678"}.get(way)
    if typed is None:
        with database.session_scope() as session:
            found = member_service.find(session, program_id=program.id, member_no=member)
            typed, _expires = member_service.rotate_qr(session, member=found)
    sign_in(client, "cashier")
    page = client.get("/pos").text

    # when it is scanned or typed into the identify field
    shown = client.post("/pos/identify", data={**form_of(page, "identify-form"), "q": typed})

    # then the member is shown by card number, name and phone masked, with tier and balances
    assert shown.status_code == 200 and str(shown.url).endswith(f"/pos?m={member}")
    text = shown.text
    assert re.search(r'id="member-name">张\*\*<', text)
    assert re.search(r'id="member-phone">139\*\*\*\*5678<', text)
    assert PHONE not in text and PHONE not in str(shown.url)
    assert re.search(r'id="member-tier">[^<]+<', text)
    assert re.search(r'id="member-points">500<', text)
    assert re.search(r'id="member-wallet">¥\d[\d,]*\.\d\d<', text)


def test_an_unknown_identifier_says_so_next_to_the_field(
    client: TestClient, member: str, database: Database
) -> None:
    sign_in(client, "cashier")
    page = client.get("/pos").text
    before = table_contents(database)
    for typed in ("", "nobody", "<script>alert(1)</script>", "8" * 11 + "0", "x" * 5000, "电话"):
        shown = client.post("/pos/identify", data={**form_of(page, "identify-form"), "q": typed})
        assert shown.status_code in (404, 422), (typed, shown.status_code)
        assert 'id="identify-error"' in shown.text
        assert "<script>alert(1)</script>" not in shown.text
    assert table_contents(database) == before


def sale_form(page: str, **fields: Any) -> dict[str, Any]:
    return {**form_of(page, "sale-form"), **fields}


def test_the_preview_shows_what_the_sale_would_do_and_posts_nothing(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)

    # when a sale of ¥100.00 paid 200 points, ¥50.00 stored value and the rest cash is previewed
    sent = sale_form(page, amount="100.00", **{"pay-points": "200", "pay-wallet": "50.00"})
    preview = client.post("/pos/sale/preview", data=sent)

    # then what it pays and earns and the most points and stored value that may pay are shown
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert re.search(r'id="preview-total">¥100.00<', text)
    assert re.search(r'id="preview-points-paid">200<', text)
    assert re.search(r'id="preview-wallet-paid">¥50.00<', text)
    assert re.search(r'id="preview-points-earned">\d+<', text)
    assert re.search(r'id="preview-most-points">500<', text)
    assert re.search(r'id="preview-most-wallet">¥100.00<', text)
    assert re.search(r'id="preview-tier">[^<]+', text)
    assert 'id="confirm-sale"' in text
    # and nothing is posted
    assert table_contents(database) == before


def test_a_sale_paid_with_points_and_wallet_posts_once_for_a_double_tap(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    sent = sale_form(
        page,
        amount="100.00",
        **{"pay-points": "200", "pay-wallet": "50.00", "store_code": "SH002"},
    )
    preview = client.post("/pos/sale/preview", data=sent).text
    confirm = form_of(preview, "confirm-form")

    # when the cashier taps confirm twice
    first = client.post("/pos/sale", data=confirm, follow_redirects=False)
    second = client.post("/pos/sale", data=confirm, follow_redirects=False)

    # then one order is posted, at the cashier's store (the tampered field is ignored)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith("/pos/receipt/POS-")
    with database.session_scope(read_only=True) as session:
        orders = session.scalars(select(Order).where(Order.external_id.like("POS-%"))).all()
        assert len(orders) == 1
        order = orders[0]
        assert (order.total_minor, order.points_paid) == (10000, 200)
        assert order.wallet_principal_paid + order.wallet_bonus_paid == 5000
        store = session.execute(
            select(func.count()).select_from(Order).where(Order.store_id.is_(None))
        ).scalar()
        assert store == 0
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "order.post")).all()
        assert [(a.subject_id, a.actor_name) for a in audits] == [(order.external_id, "cashier")]
        assert audits[0].after is not None and audits[0].after["store_code"] == "SH001"

    # and the receipt shows it, printable
    receipt = client.get(first.headers["location"])
    assert receipt.status_code == 200
    assert re.search(r'id="receipt-total">¥100.00<', receipt.text)
    assert "data-print" in receipt.text


def test_a_sale_without_enough_points_is_refused_on_the_page(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)
    sent = sale_form(page, amount="100.00", **{"pay-points": "9000"})
    for path in ("/pos/sale/preview", "/pos/sale"):
        refused = client.post(path, data=sent)
        assert refused.status_code == 409, refused.text
        assert 'id="sale-error"' in refused.text
    assert table_contents(database) == before


def test_hostile_sale_inputs_are_shown_next_to_their_fields_and_change_nothing(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)
    hostile = [
        {"amount": ""},
        {"amount": "<script>alert(1)</script>"},
        {"amount": "1e9"},
        {"amount": "-5"},
        {"amount": "9" * 400},
        {"amount": "10.00", "pay-points": "-1"},
        {"amount": "10.00", "pay-cash": "20.00"},
        {"amount": "10.00", "pay-wallet": "¥"},
        {"sku": "A" * 300, "qty": "x", "price": "1"},
        {"sku": "A", "qty": "99999999999999999999", "price": "1.00"},
        # each value within its bounds, their product beyond what an order may hold
        {"sku": "A", "qty": "1000000", "price": "999999999999999.99"},
        {"amount": "10.00", "member": "800000000000"},
        {"amount": "10.00", "key": "<bad>"},
        {"amount": "10.00", "member": "\x00"},
    ]
    for fields in hostile:
        for path in ("/pos/sale/preview", "/pos/sale"):
            answer = client.post(path, data=sale_form(page, **fields))
            assert 400 <= answer.status_code < 500, (fields, answer.status_code)
            assert "<script>alert(1)</script>" not in answer.text
    assert table_contents(database) == before


def test_a_form_with_a_wrong_csrf_token_changes_nothing(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)
    sale = sale_form(page, amount="10.00", csrf_token="forged")
    recharge = {**form_of(page, "recharge-form"), "amount": "500.00", "method": "cash"}
    for path, data in (
        ("/pos/sale", sale),
        ("/pos/sale/preview", sale),
        ("/pos/recharge", {**recharge, "csrf_token": "forged"}),
        ("/pos/register", {"phone": "13900000001", "key": "k" * 20}),
        ("/pos/refund", {"order": "X", "how": "all", "key": "k" * 20}),
        ("/pos/identify", {"q": member}),
    ):
        refused = client.post(path, data=data)
        assert refused.status_code == 403, path
    assert table_contents(database) == before


def test_a_refund_of_another_stores_order_is_refused(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    # given an order made at SH002
    with database.session_scope() as session:
        found = member_service.find(session, program_id=program.id, member_no=member)
        post_order(session, program, found, external_id="SH2-1", store_code="SH002")
    sign_in(client, "cashier")
    page = client.get("/pos/refund?order=SH2-1")
    assert page.status_code == 403 and 'id="refund-form"' not in page.text
    before = table_contents(database)
    csrf_token = form_of(till(client, member), "sale-form")["csrf_token"]

    # when SH001's cashier sends a refund of it anyway
    refused = client.post(
        "/pos/refund",
        data={"csrf_token": csrf_token, "order": "SH2-1", "how": "all", "key": "k" * 22},
    )

    # then it is refused and nothing changed
    assert refused.status_code == 403
    assert table_contents(database) == before
    assert client.get("/pos/receipt/SH2-1").status_code == 403


def test_refund_by_lines_amount_and_whole_shows_what_is_left(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    sent = sale_form(page, sku=["A", "B"], qty=["2", "1"], price=["10.00", "30.00"])
    preview = client.post("/pos/sale/preview", data=sent).text
    posted = client.post("/pos/sale", data=form_of(preview, "confirm-form"), follow_redirects=False)
    external_id = posted.headers["location"].rsplit("/", 1)[1]

    refund_page = client.get(f"/pos/refund?order={external_id}").text
    assert re.search(r'id="refundable">¥50.00<', refund_page)
    by_lines = {**form_of(refund_page, "refund-form"), "how": "lines", "line-1": "1"}
    done = client.post("/pos/refund", data=by_lines)
    assert done.status_code == 200 and 'id="refund-done"' in done.text
    assert re.search(r'id="refundable">¥40.00<', done.text)
    again = client.post("/pos/refund", data=by_lines)  # a retry of the same form
    assert re.search(r'id="refundable">¥40.00<', again.text)

    by_amount = {**form_of(done.text, "refund-form"), "how": "amount", "amount": "15.00"}
    done = client.post("/pos/refund", data=by_amount)
    assert re.search(r'id="refundable">¥25.00<', done.text)
    whole = {**form_of(done.text, "refund-form"), "how": "all"}
    done = client.post("/pos/refund", data=whole)
    assert 'id="refund-nothing-left"' in done.text
    with database.session_scope(read_only=True) as session:
        refunds = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "order.refund")
        ).all()
        assert len(refunds) == 3

    too_much = {**whole, "key": "z" * 22, "how": "amount", "amount": "1.00"}
    before = table_contents(database)
    refused = client.post("/pos/refund", data=too_much)
    assert refused.status_code == 422 and 'id="refund-error"' in refused.text
    assert table_contents(database) == before


def test_a_recharge_shows_its_bonus_first_and_is_taken_once(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    page = till(client, member)
    before = table_contents(database)
    asked = {**form_of(page, "recharge-form"), "amount": "500.00", "method": "wechat"}
    preview = client.post("/pos/recharge/preview", data=asked)
    assert preview.status_code == 200, preview.text
    assert re.search(r'id="recharge-bonus">¥50.00<', preview.text)
    assert table_contents(database) == before

    confirm = form_of(preview.text, "recharge-confirm-form")
    first = client.post("/pos/recharge", data=confirm)
    second = client.post("/pos/recharge", data=confirm)
    assert first.status_code == second.status_code == 200
    assert 'id="recharge-done"' in first.text
    with database.session_scope(read_only=True) as session:
        found = session.scalars(select(Member).where(Member.member_no == member)).one()
        assert wallet_service.balance(session, member_id=found.id).total == 30000 + 55000
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions.count("wallet.recharge") == 1

    for bad in ({"amount": "0"}, {"amount": "abc"}, {"method": "points"}):
        answer = client.post("/pos/recharge", data={**asked, **bad})
        assert answer.status_code == 422


def test_registering_a_member_by_phone_shows_them(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "cashier")
    page = client.get("/pos").text
    sent = {**form_of(page, "register-form"), "phone": "139-0000-1111", "name": "李四"}
    first = client.post("/pos/register", data=sent)
    second = client.post("/pos/register", data=sent)
    assert first.status_code == second.status_code == 200
    assert str(first.url) == str(second.url) and "/pos?m=8" in str(first.url)
    assert re.search(r'id="member-name">李\*<', first.text)
    with database.session_scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 1
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "member.register")
        ).one()
        assert entry.action == "member.register" and "13900001111" not in str(entry.after)

    before = table_contents(database)
    for fields in ({"phone": ""}, {"phone": "<script>"}, {"phone": "1" * 500}, {"name": "x" * 80}):
        answer = client.post("/pos/register", data={**sent, "key": "n" * 22, **fields})
        assert answer.status_code == 422, fields
        assert "<script>" not in answer.text.split("</head>", 1)[1].replace("<script src", "")
    taken = client.post("/pos/register", data={**sent, "key": "m" * 22})
    assert taken.status_code == 409 and 'id="register-error"' in taken.text
    assert table_contents(database) == before


def test_a_chain_wide_account_may_look_but_books_nothing(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "owner")
    page = till(client, member)
    assert 'id="till-no-store"' in page
    before = table_contents(database)
    refused = client.post("/pos/sale", data=sale_form(page, amount="10.00"))
    assert refused.status_code == 403
    assert table_contents(database) == before


def test_hostile_addresses_answer_a_page_never_a_500(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "cashier")
    before = table_contents(database)
    for path in (
        "/pos?m=<script>alert(1)</script>",
        "/pos?m=" + "8" * 5000,
        "/pos/receipt/" + "x" * 5000,
        "/pos/receipt/%3Cscript%3E",
        "/pos/refund?order=<script>alert(1)</script>",
        "/pos/refund?order=" + "y" * 5000,
    ):
        answer = client.get(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
        assert "<script>alert(1)</script>" not in answer.text
    assert table_contents(database) == before


def test_a_tier_at_risk_is_noticed_at_the_till(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    # given a member of the second tier whose next review would move them down (its notice)
    entry, second = program.ladder.tiers[0], program.ladder.tiers[1]
    review_at = utcnow() + timedelta(days=20)
    with database.session_scope() as session:
        found = member_service.find(session, program_id=program.id, member_no=member)
        found.tier_code, found.tier_review_at = second.code, review_at
        tier_repository.add_notice(
            session,
            notice=TierNotice(
                program_id=program.id,
                member_id=found.id,
                tier_code=second.code,
                expected_code=entry.code,
                review_at=review_at,
            ),
        )
    sign_in(client, "cashier")
    text = till(client, member)
    assert re.search(rf'id="member-tier">{second.name}<', text)
    assert re.search(rf'id="member-notice">[^<]*{entry.name}', text)


def test_roles_away_from_the_till_may_not_open_it(
    client: TestClient, database: Database, program: ProgramConfig, staff: dict[str, Actor]
) -> None:
    with database.session_scope() as session:
        staff_service.create_user(
            session,
            program_id=program.id,
            username="analyst",
            password="analyst-pass-2026",
            role="analyst",
        )
    signed = client.post(
        "/login",
        data={"username": "analyst", "password": "analyst-pass-2026", "next": "/pos"},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    refused = client.get("/pos")
    assert refused.status_code == 403 and 'id="refusal"' in refused.text
    assert 'href="/pos"' not in client.get("/admin").text


@pytest.mark.parametrize(
    ("amount", "code_text"),
    [
        ("50000.01", "is more than one order may have (¥50,000.00)"),
        ("0.00", "The order's amount is zero"),
    ],
)
def test_a_sale_above_the_cap_or_of_nothing_is_refused_next_to_the_amount(
    client: TestClient, database: Database, member: str, amount: str, code_text: str
) -> None:
    # given a cashier at the till (in English) with the member identified
    sign_in(client, "cashier")
    page = till(client, member)
    switched = client.post(
        "/account/locale",
        data={"csrf_token": form_of(page, "sale-form")["csrf_token"], "locale": "en"},
        follow_redirects=False,
    )
    assert switched.status_code == 303
    page = till(client, member)
    before = table_contents(database)

    # when a sale of ¥50,000.01 (the default cap is ¥50,000.00), or of nothing, is previewed
    # or posted
    for path in ("/pos/sale/preview", "/pos/sale"):
        refused = client.post(path, data=sale_form(page, amount=amount))

        # then the till says why beside the amount field, and posts nothing
        assert refused.status_code == 422, refused.text
        found = re.search(r'id="sale-amount-error">([^<]*)<', refused.text)
        assert found, refused.text
        assert code_text in found.group(1).replace("&#39;", "'")
        assert 'id="confirm-sale"' not in refused.text
    assert table_contents(database) == before
