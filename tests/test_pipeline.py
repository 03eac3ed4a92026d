"""The member-event pipeline, through the services: the steps every member event shares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from memberkit.db import Database
from memberkit.kit.time import Timing, utcnow
from memberkit.ledger.models import LedgerTransaction, PointsLot, TransactionKind
from memberkit.ledger.repository import member_balances
from memberkit.member import service as member_service
from memberkit.member.service import MemberInactive
from memberkit.pipeline import EventKind
from memberkit.reactions import REACTIONS
from memberkit.tier import service as tier_service
from memberkit.wallet import service as wallet_service
from tests.api.conftest import table_contents
from tests.conftest import set_rules
from tests.factories import make_member, post_order


def test_every_kind_that_can_move_a_tier_is_judged_and_no_other() -> None:
    # An adjustment or a grant moves no tier by itself: a grant sets one, an adjustment
    # changes points only.
    assert {kind: [r.__name__ for r in reactions] for kind, reactions in REACTIONS.items()} == {
        EventKind.order: ["upgrade_on_gain"],
        EventKind.recharge: ["upgrade_on_gain"],
        EventKind.behaviour: ["upgrade_on_gain"],
        EventKind.refund: ["revert_on_refund"],
    }
    assert REACTIONS[EventKind.order][0] is tier_service.upgrade_on_gain


def test_a_recharge_expires_the_members_lapsed_points_first_though_it_spends_none(
    database: Database,
) -> None:
    # given 60 points earned 40 days ago under a 30-day validity, and no expiry job since
    program = set_rules(database, points_validity={"type": "rolling_days", "days": 30})
    earned_at = utcnow() - timedelta(days=40)
    with database.session_scope() as session:
        member = make_member(session, program)
        post_order(session, program, member, occurred_at=earned_at, timing=Timing.replay(earned_at))
    with database.session_scope() as session:
        lot = session.scalars(select(PointsLot).where(PointsLot.member_id == member.id)).one()
        assert (lot.amount, lot.remaining) == (60, 60)

    # when the member recharges their wallet, live
    with database.session_scope() as session:
        wallet_service.recharge(
            session,
            program=program,
            member_no=member.member_no,
            external_id="C-1",
            amount_minor=10000,
            method="wechat",
            store_code=None,
            occurred_at=utcnow(),
        )

    # then the lapsed lot was expired in the recharge's own transaction, dated at its expiry
    with database.session_scope() as session:
        lot = session.scalars(select(PointsLot).where(PointsLot.member_id == member.id)).one()
        expiry = session.scalars(
            select(LedgerTransaction).where(
                LedgerTransaction.member_id == member.id,
                LedgerTransaction.kind == TransactionKind.expire,
            )
        ).one()
        assert (lot.amount, lot.remaining) == (60, 0)
        assert expiry.occurred_at == lot.expires_at
        assert member_balances(session, member_id=member.id)["points"] == 0


def test_a_frozen_member_is_refused_before_anything_is_written(database: Database) -> None:
    # given a frozen member
    program = set_rules(database)
    with database.session_scope() as session:
        member = make_member(session, program)
        member_service.change(session, member=member, changes={"status": "frozen"})
    before = table_contents(database)

    # when an order is posted for them, then it is refused and nothing changed
    with pytest.raises(MemberInactive), database.session_scope() as session:
        post_order(session, program, member)
    assert table_contents(database) == before
