"""Paying a recharge back at the cashier screen: the store's manager, once per form, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.program.service import ProgramConfig
from memberkit.wallet import service as wallet_service
from memberkit.wallet.models import WalletRefund
from tests.benefit.test_views import sign_in
from tests.pos.conftest import cheap_hashes, member, staff
from tests.pos.test_views import form_of
from tests.rest import table_contents

__all__ = ["cheap_hashes", "member", "staff"]


def wallet_page(client: TestClient, member_no: str) -> str:
    page = client.get(f"/pos/wallet?m={member_no}")
    assert page.status_code == 200, page.text
    return page.text


def test_the_manager_pays_back_part_of_a_recharge_once_per_form(
    client: TestClient, database: Database, member: str
) -> None:
    # given the store's manager at the till, the member's page links to their stored value
    sign_in(client, "manager")
    assert 'id="member-wallet-link"' in client.get(f"/pos?m={member}").text
    form = {
        **form_of(wallet_page(client, member), "till-refund-form-1"),
        "amount": "100.00",
        "method": "cash",
        "reason": "退卡",
    }

    # when the pay-back is submitted twice (a double tap)
    first = client.post("/pos/wallet/refund", data=form)
    second = client.post("/pos/wallet/refund", data=form)

    # then it is paid back once, said on the page, and audited once
    assert first.status_code == second.status_code == 200
    for page in (first.text, second.text):
        assert 'id="wallet-refund-done"' in page and "¥100.00" in page
        assert 'id="member-wallet">¥200.00<' in page
    with database.session_scope(read_only=True) as session:
        refunds = session.scalars(select(WalletRefund)).all()
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "wallet.refund")
        ).all()
    assert [(r.amount_minor, r.method, r.reason) for r in refunds] == [(10_000, "cash", "退卡")]
    assert len(audited) == 1


def test_a_cashier_sees_the_recharges_but_may_not_pay_one_back(
    client: TestClient, database: Database, member: str
) -> None:
    # given a cashier: the recharge is listed without a form
    sign_in(client, "cashier")
    page = wallet_page(client, member)
    assert 'data-recharge="W-1"' in page and 'id="till-refund-form-1"' not in page
    assert 'id="wallet-refund-manager"' in page

    # when they post a pay-back anyway, it is refused, changing nothing
    sign_in(client, "manager")
    form = form_of(wallet_page(client, member), "till-refund-form-1")
    client.cookies.clear()
    sign_in(client, "cashier")
    form["csrf_token"] = form_of(client.get(f"/pos?m={member}").text, "recharge-form")["csrf_token"]
    before = table_contents(database)
    refused = client.post("/pos/wallet/refund", data=form)
    assert refused.status_code == 403
    assert table_contents(database) == before


def test_a_wrong_amount_is_told_beside_it_and_too_much_on_the_page(
    client: TestClient, database: Database, member: str
) -> None:
    sign_in(client, "manager")
    form = form_of(wallet_page(client, member), "till-refund-form-1")
    before = table_contents(database)

    unreadable = client.post("/pos/wallet/refund", data={**form, "amount": "12.345"})
    too_much = client.post("/pos/wallet/refund", data={**form, "amount": "300.01"})

    assert unreadable.status_code == 422 and "is-invalid" in unreadable.text
    assert too_much.status_code == 409 and 'id="wallet-refund-error"' in too_much.text
    assert table_contents(database) == before


def test_another_stores_recharge_is_not_paid_back_here(
    client: TestClient, database: Database, program: ProgramConfig, member: str
) -> None:
    # given a recharge of the member at SH002
    with database.session_scope() as session:
        wallet_service.recharge(
            session,
            program=program,
            member_no=member,
            external_id="W-SH002",
            amount_minor=20_000,
            method="cash",
            store_code="SH002",
            occurred_at=utcnow(),
        )
    sign_in(client, "manager")
    page = wallet_page(client, member)
    assert 'data-recharge="W-SH002"' not in page  # only this store's are listed
    form = {**form_of(page, "till-refund-form-1"), "recharge": "W-SH002"}
    before = table_contents(database)

    # when SH001's manager posts its pay-back anyway, it is refused, changing nothing
    refused = client.post("/pos/wallet/refund", data=form)

    assert refused.status_code == 403 and 'id="wallet-refund-error"' in refused.text
    assert table_contents(database) == before
