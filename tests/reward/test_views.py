"""The catalog's pages: defining and changing rewards on the console, the redemptions list
with pickup and cancelling by role and store, the till's pickup step."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.audit.rules import Origin
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger import service as ledger_service
from memberkit.program.service import ProgramConfig
from memberkit.reward import service
from memberkit.reward.models import Redemption, Reward
from memberkit.reward.rules import RewardKind
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf
from tests.factories import make_member
from tests.member.test_views import signed
from tests.rest import table_contents

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]

OURS = AuditEntry.subject_type.in_(["reward", "redemption"])
FORM = {
    "code": "tumbler",
    "kind": "goods",
    "name": "保温杯",
    "points": "500",
    "cash": "9.90",
    "stock": "10",
    "limit_count": "2",
    "limit_period": "month",
    "available_until": "2027-01-01T00:00",
}


@pytest.fixture
def card(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> str:
    """A member of SH001 with 2000 points; a tumbler redeemed at SH001 (R-SH) and online (R-WEB)."""
    with database.session_scope() as session:
        member = make_member(session, program, store_code="SH001")
        ledger_service.adjust(
            session,
            program_id=program.id,
            member_id=member.id,
            points=2000,
            reason="given",
            actor="test",
            key="given",
            occurred_at=utcnow(),
            expires_at=None,
        )
        service.define(
            session,
            program=program,
            spec=service.RewardSpec(
                code="tumbler", kind=RewardKind.goods, name="保温杯", points=500, cash_minor=990
            ),
            origin=Origin("test"),
        )
        member_no = member.member_no
    for external_id, store in (("R-SH", "SH001"), ("R-WEB", None)):
        with database.session_scope() as session:
            service.redeem(
                session,
                program=program,
                member_no=member_no,
                code="tumbler",
                external_id=external_id,
                quantity=1,
                store_code=store,
                actor="test",
            )
    return member_no


def token(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf(page.text)


def test_the_owner_defines_a_reward_on_the_console_once_audited(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    signed(client, "owner")
    form = {**FORM, "csrf_token": token(client, "/admin/rewards"), "tiers": ["gold", "silver"]}

    made = client.post("/admin/rewards", data=form, follow_redirects=False)
    again = client.post("/admin/rewards", data=form, follow_redirects=False)

    assert made.status_code == again.status_code == 303
    page = client.get("/admin/rewards").text
    assert 'id="reward-tumbler"' in page and "¥9.90" in page
    with database.session_scope(read_only=True) as session:
        reward = session.scalars(select(Reward)).one()
        assert (reward.points, reward.cash_minor, reward.stock, reward.limit_count) == (
            500,
            990,
            10,
            2,
        )
        assert sorted(reward.tiers) == ["gold", "silver"]
        assert reward.available_until is not None
        assert reward.available_until.isoformat().startswith("2026-12-31T16:00")
        actions = session.scalars(select(AuditEntry.action).where(OURS)).all()
    assert actions == ["reward.create"]


def test_a_form_the_api_would_refuse_is_shown_again_with_each_fault_and_changes_nothing(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    signed(client, "owner")
    before = table_contents(database)
    form = {
        **FORM,
        "csrf_token": token(client, "/admin/rewards"),
        "code": "Bad Code",
        "points": "0",
        "available_from": "tomorrow",
    }
    refused = client.post("/admin/rewards", data=form)
    assert refused.status_code == 422
    for name in ("code", "available_from"):
        assert f'id="error-{name}"' in refused.text
    coupon = client.post(
        "/admin/rewards", data={**FORM, "csrf_token": form["csrf_token"], "kind": "coupon"}
    )
    assert coupon.status_code == 422
    assert table_contents(database) == before


def test_the_owner_restocks_and_switches_a_reward_off_and_a_manager_only_reads(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "owner")
    form = {**FORM, "csrf_token": token(client, "/admin/rewards/tumbler"), "stock": "4"}
    changed = client.post("/admin/rewards/tumbler", data=form, follow_redirects=False)
    assert changed.status_code == 303
    with database.session_scope(read_only=True) as session:
        reward = session.scalars(select(Reward)).one()
        assert (reward.stock, reward.active, reward.points) == (4, False, 500)
        actions = select(AuditEntry.action).where(OURS).order_by(AuditEntry.id)
        assert session.scalars(actions).all() == ["reward.create", "reward.update"]

    client.cookies.clear()
    signed(client, "manager")
    page = client.get("/admin/rewards/tumbler")
    assert page.status_code == 200 and 'id="save-reward"' not in page.text
    before = table_contents(database)
    refused = client.post("/admin/rewards/tumbler", data={**FORM, "csrf_token": csrf(page.text)})
    assert refused.status_code == 403
    assert table_contents(database) == before


def test_a_cashier_lists_their_stores_redemptions_and_may_not_cancel_the_online_one(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "cashier")
    page = client.get("/admin/redemptions").text
    assert 'id="redemption-R-SH"' in page and 'id="redemption-R-WEB"' not in page
    before = table_contents(database)
    refused = client.post(
        "/admin/redemptions/R-WEB/cancel", data={"csrf_token": csrf(page), "reason": "退"}
    )
    assert refused.status_code == 403
    assert table_contents(database) == before


def test_the_owner_records_a_pickup_and_cancels_the_other_with_a_reason(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "owner")
    form = {"csrf_token": token(client, "/admin/redemptions")}
    picked = client.post(
        "/admin/redemptions/R-SH/fulfil", data={**form, "store": "SH002"}, follow_redirects=False
    )
    cancelled = client.post(
        "/admin/redemptions/R-WEB/cancel",
        data={**form, "reason": "会员改主意"},
        follow_redirects=False,
    )
    assert picked.status_code == cancelled.status_code == 303
    fulfilled = client.get("/admin/redemptions", params={"status": "fulfilled"}).text
    assert 'id="redemption-R-SH"' in fulfilled and 'id="redemption-R-WEB"' not in fulfilled
    assert "SH002" in fulfilled
    refused = client.post("/admin/redemptions/R-SH/cancel", data={**form, "reason": "退"})
    assert refused.status_code == 409
    assert "只有待领取的兑换单才能取消" in refused.text
    with database.session_scope(read_only=True) as session:
        states = dict(session.execute(select(Redemption.external_id, Redemption.status)).all())
        found = select(AuditEntry.action).where(OURS).order_by(AuditEntry.id)
        actions = session.scalars(found).all()
    assert states == {"R-SH": "fulfilled", "R-WEB": "cancelled"}
    assert actions == ["reward.create", "redemption.fulfil", "redemption.cancel"]


def test_the_till_finds_the_member_and_hands_a_reward_over_at_its_store(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "cashier")
    till = client.get(f"/pos?m={card}").text
    assert f'href="/pos/rewards?m={card}"' in till
    found = client.post(
        "/pos/identify",
        data={"csrf_token": csrf(till), "q": card, "then": "rewards"},
        follow_redirects=False,
    )
    assert (found.status_code, found.headers["location"]) == (303, f"/pos/rewards?m={card}")
    page = client.get(found.headers["location"]).text
    assert 'id="hand-over-R-SH"' in page and 'id="hand-over-R-WEB"' in page
    assert "¥9.90" in page

    handed = client.post(
        "/pos/rewards/R-WEB/fulfil",
        data={"csrf_token": csrf(page), "store": "SH001", "member": card},
    )

    assert handed.status_code == 200
    assert 'id="pickup-done"' in handed.text and 'id="hand-over-R-WEB"' not in handed.text
    with database.session_scope(read_only=True) as session:
        row = service.find(session, program=_program(database), external_id="R-WEB")
    assert (row.status, row.fulfilled_store_code) == ("fulfilled", "SH001")
    again = client.post(
        "/pos/rewards/R-WEB/fulfil",
        data={"csrf_token": csrf(page), "store": "SH001", "member": card},
    )
    assert again.status_code == 200 and re.search(r'id="pickup-done"', again.text)


def _program(database: Database) -> ProgramConfig:
    from memberkit.program import service as program_service

    with database.session_scope(read_only=True) as session:
        return program_service.get(session)


def test_a_cancellation_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, database: Database, card: str
) -> None:
    signed(client, "owner")
    before = table_contents(database)
    refused = client.post(
        "/admin/redemptions/R-SH/cancel",
        data={"csrf_token": token(client, "/admin/redemptions"), "reason": " "},
    )
    assert refused.status_code == 422
    assert "请填写取消原因" in refused.text
    assert table_contents(database) == before
