"""Paying back stored value from the console's member page: who may, once per form, audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.db import Database
from memberkit.kit.time import Timing, utcnow
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.store.models import Store
from memberkit.wallet import service as wallet_service
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf
from tests.factories import make_member, make_store
from tests.member.test_views import form_of, signed
from tests.rest import table_contents

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]


@pytest.fixture
def card(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> str:
    """A member of SH001 with ¥500.00 + ¥50.00 recharged there, and ¥200.00 online."""
    with database.session_scope() as session:
        member = make_member(session, program, phone="13800138000", store_code="SH001")
        for external_id, amount, store in (("RC-SH", 50_000, "SH001"), ("RC-WEB", 20_000, None)):
            wallet_service.recharge(
                session,
                program=program,
                member_no=member.member_no,
                external_id=external_id,
                amount_minor=amount,
                method="wechat",
                store_code=store,
                occurred_at=utcnow() - timedelta(minutes=5),
            )
        return member.member_no


def refund_path(card: str, recharge_id: str) -> str:
    return f"/admin/members/{card}/wallet/{recharge_id}/refund"


def test_the_owner_pays_back_part_of_a_recharge_once_per_form_with_an_audit_entry(
    client: TestClient, card: str
) -> None:
    signed(client, "owner")
    page = client.get(f"/admin/members/{card}").text
    assert 'id="refund-recharge-1"' in page and 'id="refund-recharge-2"' in page
    form = {**form_of(client, card), "amount": "200.00", "method": "cash", "reason": "退卡"}

    done = client.post(refund_path(card, "RC-SH"), data=form, follow_redirects=False)
    again = client.post(refund_path(card, "RC-SH"), data=form, follow_redirects=False)

    assert done.status_code == again.status_code == 303
    shown = client.get(done.headers["location"]).text
    assert "储值已退款。" in shown
    # ¥700.00 + ¥50.00 less ¥200.00 and its ¥20.00 of bonus
    assert 'id="wallet-principal">¥500.00<' in shown
    assert 'id="wallet-bonus">¥30.00<' in shown
    assert 'id="wallet-refunded">¥200.00<' in shown
    audit = client.get("/admin/audit", params={"action": "member.wallet-refund"}).text
    assert audit.count("<code>member.wallet-refund</code>") == 1


def test_a_store_manager_pays_back_only_recharges_taken_at_their_store(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "manager")
    page = client.get(f"/admin/members/{card}").text
    # the newest first: the online recharge (no form), then SH001's (a form)
    assert 'id="refund-recharge-1"' not in page and 'id="refund-recharge-2"' in page
    before = table_contents(database)

    refused = client.post(refund_path(card, "RC-WEB"), data=form_of(client, card))

    assert refused.status_code == 403
    assert table_contents(database) == before
    done = client.post(refund_path(card, "RC-SH"), data=form_of(client, card))
    assert done.status_code == 200 and 'id="wallet-principal">¥200.00<' in done.text


def test_a_store_manager_may_not_pay_back_another_stores_recharge_past_the_latest_shown(
    client: TestClient, database: Database, program: ProgramConfig, card: str
) -> None:
    # given a recharge of the member at another store, then 50 small ones at SH001 after it
    with database.session_scope() as session:
        if not session.scalar(select(Store.id).where(Store.code == "BJ001")):
            make_store(session, program, code="BJ001", city="北京")
        for number in range(51):
            wallet_service.recharge(
                session,
                program=program,
                member_no=card,
                external_id=f"RC-{number:02}",
                amount_minor=100,
                method="cash",
                store_code="BJ001" if number == 0 else "SH001",
                occurred_at=utcnow() - timedelta(minutes=4) + timedelta(seconds=number),
            )
    signed(client, "manager")
    before = table_contents(database)

    # when SH001's manager posts a pay-back of the old BJ001 one, it is refused
    refused = client.post(refund_path(card, "RC-00"), data=form_of(client, card))
    assert refused.status_code == 403
    assert table_contents(database) == before

    # and one the member does not have is not found, changing nothing
    missing = client.post(refund_path(card, "RC-NONE"), data=form_of(client, card))
    assert missing.status_code == 404
    assert table_contents(database) == before


def test_a_cashier_sees_no_refund_and_may_not_post_one(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "cashier")
    page = client.get(f"/admin/members/{card}").text
    assert 'id="refund-recharge-' not in page
    before = table_contents(database)
    form = {"csrf_token": csrf(page), "key": "0" * 32}
    refused = client.post(refund_path(card, "RC-SH"), data=form)
    assert refused.status_code == 403
    assert table_contents(database) == before


@pytest.mark.parametrize(
    ("fields", "status", "shown"),
    [
        ({"amount": "abc"}, 422, 'id="error-wallet-refund-amount"'),
        ({"amount": "9" * 2000}, 422, 'id="error-wallet-refund-amount"'),
        ({"method": "points"}, 422, 'id="error-wallet-refund-method"'),
        ({"reason": "长" * 201}, 422, 'id="error-wallet-refund-reason"'),
        ({"amount": "500.01"}, 409, "最多可退 ¥500.00"),
        ({"csrf_token": "forged"}, 403, ""),
    ],
)
def test_a_wrong_refund_is_told_and_changes_nothing(
    client: TestClient,
    database: Database,
    card: str,
    fields: dict[str, str],
    status: int,
    shown: str,
) -> None:
    signed(client, "owner")
    form = {**form_of(client, card), **fields}
    before = table_contents(database)

    refused = client.post(refund_path(card, "RC-SH"), data=form)

    assert refused.status_code == status and shown in refused.text
    assert "<script>" not in refused.text
    assert table_contents(database) == before


def test_a_recharge_past_the_window_offers_no_refund_and_refuses_one(
    client: TestClient, database: Database, program: ProgramConfig, card: str
) -> None:
    with database.session_scope() as session:
        old = utcnow() - timedelta(days=8)
        wallet_service.recharge(
            session,
            program=program,
            member_no=card,
            external_id="RC-OLD",
            amount_minor=10_000,
            method="cash",
            store_code="SH001",
            occurred_at=old,
            timing=Timing.replay(old),
        )
    signed(client, "owner")
    page = client.get(f"/admin/members/{card}").text
    assert 'id="refund-recharge-3"' not in page  # the oldest, listed last
    before = table_contents(database)
    refused = client.post(refund_path(card, "RC-OLD"), data=form_of(client, card))
    assert refused.status_code == 409 and "已不能退款" in refused.text
    assert table_contents(database) == before
