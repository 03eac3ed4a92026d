"""The member-event pipeline, through the services: the steps every member event shares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.events import OutboxEvent
from memberkit.kit.time import Timing, utcnow
from memberkit.ledger.models import LedgerTransaction, PointsLot, TransactionKind
from memberkit.ledger.repository import member_balances
from memberkit.ledger.service import InsufficientPoints
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.member.service import MemberInactive
from memberkit.pipeline import EventKind
from memberkit.program.service import ProgramConfig
from memberkit.reactions import REACTIONS
from memberkit.tier import service as tier_service
from memberkit.wallet import service as wallet_service
from tests.conftest import set_rules
from tests.factories import make_member, post_order
from tests.rest import table_contents


def test_every_kind_that_can_move_a_tier_is_judged_and_no_other() -> None:
    # An adjustment or a grant moves no tier by itself: a grant sets one, an adjustment
    # changes points only. An upgrade's coupons (升级礼包) follow the upgrade that gave them.
    gaining = ["upgrade_on_gain", "gift_on_upgrade"]
    assert {kind: [r.__name__ for r in reactions] for kind, reactions in REACTIONS.items()} == {
        EventKind.order: gaining,
        EventKind.recharge: gaining,
        EventKind.behaviour: gaining,
        EventKind.refund: ["revert_on_refund"],
    }
    assert REACTIONS[EventKind.order][0] is tier_service.upgrade_on_gain


def test_a_recharge_expires_the_members_lapsed_points_first_though_it_spends_none(
    database: Database,
) -> None:
    # given 60 points earned 40 days ago under a 30-day validity, and no expiry job since
    program, member = member_with_lapsed_points(database)
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


def test_an_events_domain_events_reach_the_outbox_together_in_the_order_told(
    database: Database,
) -> None:
    # given a member whose 60 points, earned 40 days ago under a 30-day validity, lapsed
    program, member = member_with_lapsed_points(database)

    # when they buy for ¥1,000, live (gold on the default ladder)
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX_EVENTS"):
            inserts.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        with database.session_scope() as session:
            post_order(session, program, member, amount_minor=100_000, external_id="O-2")
    finally:
        event.remove(database.engine, "before_cursor_execute", count)

    # then the expiry, the upgrade and the order were told in that order, in one INSERT
    assert len(inserts) == 1
    with database.session_scope() as session:
        told = session.execute(
            select(OutboxEvent.type, OutboxEvent.payload)
            .where(OutboxEvent.member_id == member.id, OutboxEvent.id > _last_before(session))
            .order_by(OutboxEvent.id)
        ).all()
    assert [(type, payload.get("points", payload.get("to_tier"))) for type, payload in told] == [
        ("points.expired", 60),
        ("tier.changed", "gold"),
        ("order.posted", None),
    ]
    assert told[2].payload["external_id"] == "O-2"


def member_with_lapsed_points(database: Database) -> tuple[ProgramConfig, Member]:
    """A member who earned 60 points 40 days ago under a 30-day validity; no expiry job since."""
    program = set_rules(database, points_validity={"type": "rolling_days", "days": 30})
    earned_at = utcnow() - timedelta(days=40)
    with database.session_scope() as session:
        member = make_member(session, program)
        post_order(session, program, member, occurred_at=earned_at, timing=Timing.replay(earned_at))
    return program, member


def _last_before(session: Session) -> int:
    """The id of the last event told before the live order (the replayed order's)."""
    return (
        session.scalars(
            select(OutboxEvent.id)
            .where(OutboxEvent.type == "order.posted")
            .order_by(OutboxEvent.id)
        ).first()
        or 0
    )


def test_a_refused_event_writes_none_of_the_events_told_before_the_refusal(
    database: Database,
) -> None:
    # given a member whose 60 points lapsed
    program, member = member_with_lapsed_points(database)
    with database.session_scope() as session:
        before = session.scalars(select(func.count()).select_from(OutboxEvent)).one()

    # when they try to pay 60 points: the pipeline expires them first, then the spend is refused
    with database.session_scope(rollback=True) as session:
        with pytest.raises(InsufficientPoints):
            post_order(session, program, member, points=60, external_id="O-2")

        # then the points.expired told on the way was never written, not even in the
        # transaction the refusal leaves behind, and nothing is left queued on the session
        assert session.scalars(select(func.count()).select_from(OutboxEvent)).one() == before
        assert not [key for key in session.info if "outbox" in key]
