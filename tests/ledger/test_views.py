"""The console's liability page: the report for a day, a store-bound role's own stores."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.wallet import service as wallet_service
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.factories import make_member
from tests.member.test_views import signed

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]


@pytest.fixture
def stored(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> None:
    """¥500.00 (+ ¥50.00) held by a member of SH001, ¥300.00 by one of SH002."""
    with database.session_scope() as session:
        for store, amount in (("SH001", 50_000), ("SH002", 30_000)):
            member = make_member(session, program, store_code=store)
            wallet_service.recharge(
                session,
                program=program,
                member_no=member.member_no,
                external_id=f"RC-{store}",
                amount_minor=amount,
                method="cash",
                store_code=store,
                occurred_at=utcnow() - timedelta(minutes=5),
            )


def test_the_owner_sees_every_stores_liability_and_the_total(
    client: TestClient, stored: None
) -> None:
    signed(client, "owner")
    page = client.get("/admin/liability")
    assert page.status_code == 200
    assert "SH001" in page.text and "SH002" in page.text
    assert 'id="total-principal">¥800.00<' in page.text
    assert 'id="total-bonus">¥50.00<' in page.text
    # the day before, nothing was owed
    yesterday = (utcnow() - timedelta(days=2)).date().isoformat()
    before = client.get("/admin/liability", params={"on": yesterday})
    assert 'id="total-principal">¥0.00<' in before.text


def test_a_store_manager_sees_their_stores_members_only(client: TestClient, stored: None) -> None:
    signed(client, "manager")
    page = client.get("/admin/liability").text
    assert "SH002" not in page and 'id="total-principal">¥500.00<' in page


def test_a_bad_day_is_told_beside_the_field(client: TestClient, stored: None) -> None:
    signed(client, "owner")
    for bad in ("yesterday", "1999-01-01", "<script>"):
        refused = client.get("/admin/liability", params={"on": bad})
        assert refused.status_code == 422 and 'id="error-on"' in refused.text
        assert "<script>" not in refused.text


def test_a_cashier_may_not_open_it(client: TestClient, stored: None) -> None:
    signed(client, "cashier")
    assert client.get("/admin/liability", follow_redirects=False).status_code == 403
