"""Validity travels with points, whenever the expiry job runs (issue 7, class 1).

Two programs on one database play the same random story — orders (some paid with points),
partial refunds, hand debits, the clock moving on by hours or days — through the real
services. In one, the expiry job runs at random moments; in the other it never runs. Every
outcome must be the same in both, and after every step:

- no payment or debit took points from a lot past its expiry at that moment;
- points a refund gave back keep the expiry of the lots they were spent from;
- a claw-back never takes more than the order earned, and what it did not take because it
  had expired is never taken again;
- the ledger check holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.errors import MemberkitError
from memberkit.kit.time import Timing, as_utc
from memberkit.ledger import adjustments
from memberkit.ledger import service as ledger_service
from memberkit.ledger.check import check
from memberkit.ledger.models import LedgerEntry, LedgerTransaction, PointsLot, TransactionKind
from memberkit.ledger.repository import ensure_system_accounts, live_points
from memberkit.member import service as member_service
from memberkit.order import service as order_service
from memberkit.order.models import Order
from memberkit.order.service import LineIn, MemberRef, OrderIn, PaymentIn, RefundIn
from memberkit.program import service as program_service
from memberkit.program.models import Program
from memberkit.program.service import ProgramConfig
from tests.conftest import _reset as reset

START = datetime(2026, 11, 2, 4, 0, tzinfo=UTC)  # noon in Shanghai
#: Points are valid through the day after the earning day: lots expire every night.
VALIDITY = {"type": "rolling_days", "days": 1}
ONE_TIER = {"tiers": [{"code": "regular", "name": "普通会员", "multiplier": "1"}]}
WORLDS = ("with_job", "without_job")

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

T = TypeVar("T")


@dataclass
class World:
    """One program and its member, playing the story."""

    program: ProgramConfig
    member_id: int
    member_no: str


@dataclass
class Story:
    """What both worlds were asked to do so far."""

    orders: list[str] = field(default_factory=list)
    now: datetime = START


def outcome(call: Callable[[], T]) -> tuple[str, Any]:
    """A call's result without its ids, or the code of the refusal it raised."""
    try:
        result = call()
    except MemberkitError as refusal:
        return "refused", refusal.code
    if isinstance(result, order_service.OrderResult):
        return "order", replace(result, order_id=0, member_no="", tier=None)
    if isinstance(result, order_service.RefundResult):
        return "refund", replace(result, refund_id=0, member_no="")
    return "done", result


def validity_machine(database: Database) -> type[RuleBasedStateMachine]:
    """Build the state machine class bound to the test database."""

    class ValidityMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.serial = itertools.count(1)
            self.story = Story()
            self.worlds: dict[str, World] = {}

        def both(self, call: Callable[[Session, World], T]) -> None:
            """Play one request in both worlds, each as its own unit of work; same outcome."""
            outcomes = []
            for name in WORLDS:
                world = self.worlds[name]

                def run(world: World = world) -> T:
                    with database.session_scope() as session:
                        return call(session, world)

                outcomes.append(outcome(run))
            assert outcomes[0] == outcomes[1]

        @initialize()
        def open_programs(self) -> None:
            reset(database)
            with database.session_scope() as session:
                session.add(
                    Program(
                        code="shadow",
                        name="Shadow",
                        currency="CNY",
                        points_name="积分",
                        points_per_currency_unit=100,
                    )
                )
                session.flush()
                for name, code in zip(WORLDS, ("default", "shadow"), strict=True):
                    program = program_service.get(session, code)
                    ensure_system_accounts(session, program_id=program.id)
                    program = program_service.configure(
                        session, program=program, points_validity=VALIDITY, tier_ladder=ONE_TIER
                    )
                    member = member_service.register(
                        session, program_id=program.id, phone="13900000000"
                    )
                    self.worlds[name] = World(program, member.id, member.member_no)

        @rule(hours=st.sampled_from((1, 6, 12, 24, 36, 48, 72)))
        def time_passes(self, hours: int) -> None:
            self.story.now += timedelta(hours=hours)

        @rule(amount=st.integers(100, 500_00), points=st.none() | st.integers(1, 200))
        def buy(self, amount: int, points: int | None) -> None:
            external_id = f"O-{next(self.serial)}"
            paid = min(points or 0, amount)
            payments = [PaymentIn("cash", amount - paid)] if amount > paid else []
            if paid:
                payments.append(PaymentIn("points", points=paid))
            now = self.story.now

            def call(session: Session, world: World) -> order_service.OrderResult:
                order = OrderIn(
                    external_id=external_id,
                    member=MemberRef(member_no=world.member_no),
                    store_code=None,
                    channel="store",
                    occurred_at=now,
                    lines=[LineIn("SKU", "Tea", "drinks", 1, amount, amount)],
                    payments=payments,
                )
                return order_service.post_order(
                    session, program=world.program, order=order, timing=Timing.replay(now)
                )

            self.both(call)
            self.story.orders.append(external_id)

        @precondition(lambda self: bool(self.story.orders))
        @rule(data=st.data(), part=st.none() | st.integers(1, 500_00))
        def refund(self, data: st.DataObject, part: int | None) -> None:
            order = data.draw(st.sampled_from(self.story.orders))
            external_id = f"R-{next(self.serial)}"
            now = self.story.now

            def call(session: Session, world: World) -> order_service.RefundResult:
                refund = RefundIn(external_id, order, now, amount_minor=part)
                return order_service.post_refund(
                    session, program=world.program, refund=refund, timing=Timing.replay(now)
                )

            self.both(call)

        @rule(points=st.integers(1, 300))
        def debit_by_hand(self, points: int) -> None:
            key = f"A-{next(self.serial)}"
            now = self.story.now

            def call(session: Session, world: World) -> int:
                adjustments.adjust_by_hand(
                    session,
                    program=world.program,
                    member_no=world.member_no,
                    points=-points,
                    reason="correction",
                    actor="test",
                    key=key,
                    now=now,
                )
                member = member_service.find(
                    session, program_id=world.program.id, member_no=world.member_no
                )
                return live_points(session, member_id=member.id, as_of=now)

            self.both(call)

        @rule()
        def expiry_job_runs(self) -> None:
            world = self.worlds["with_job"]
            with database.session_scope() as session:
                member_service.find(
                    session, program_id=world.program.id, member_no=world.member_no, lock=True
                )
                ledger_service.expire_due(
                    session,
                    program_id=world.program.id,
                    member_id=world.member_id,
                    as_of=self.story.now,
                )

        @invariant()
        def same_spendable_points(self) -> None:
            if not self.worlds:
                return
            with database.session_scope() as session:
                live = {
                    live_points(session, member_id=w.member_id, as_of=self.story.now)
                    for w in self.worlds.values()
                }
            assert len(live) == 1

        @invariant()
        def no_point_outlives_its_lot(self) -> None:
            with database.session_scope() as session:
                # Spends and claw-backs take only from lots not yet past expiry at that time.
                stale = session.scalar(
                    select(func.count())
                    .select_from(LedgerEntry)
                    .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                    .join(PointsLot, PointsLot.id == LedgerEntry.lot_id)
                    .where(
                        LedgerEntry.amount < 0,
                        LedgerTransaction.kind.in_(
                            [TransactionKind.redeem, TransactionKind.refund, TransactionKind.adjust]
                        ),
                        PointsLot.expires_at <= LedgerTransaction.occurred_at,
                    )
                )
                assert stale == 0
                # Returned points carry an expiry of a lot their order's payment took from.
                for world in self.worlds.values():
                    self.returns_keep_their_expiry(session, world)

        def returns_keep_their_expiry(self, session: Session, world: World) -> None:
            returned = session.execute(
                select(Order.external_id, PointsLot.expires_at)
                .join(LedgerTransaction, LedgerTransaction.order_id == Order.id)
                .join(PointsLot, PointsLot.transaction_id == LedgerTransaction.id)
                .where(
                    Order.program_id == world.program.id,
                    LedgerTransaction.kind == TransactionKind.refund,
                )
            ).all()
            for external_id, expires_at in returned:
                spent_from = {
                    as_utc(when)
                    for (when,) in session.execute(
                        select(PointsLot.expires_at)
                        .join(LedgerEntry, LedgerEntry.lot_id == PointsLot.id)
                        .join(
                            LedgerTransaction,
                            LedgerTransaction.id == LedgerEntry.transaction_id,
                        )
                        .where(
                            LedgerTransaction.program_id == world.program.id,
                            LedgerTransaction.idempotency_key == f"order:{external_id}:pay",
                        )
                    )
                }
                assert as_utc(expires_at) in spent_from

        @invariant()
        def claw_backs_stay_within_what_was_earned(self) -> None:
            with database.session_scope() as session:
                for order in session.scalars(select(Order)):
                    assert 0 <= order.points_already_expired <= order.points_reversed
                    assert order.points_reversed <= order.points_earned

        @invariant()
        def ledger_holds(self) -> None:
            with database.session_scope() as session:
                assert check(session).problems == []

    return ValidityMachine


def test_points_keep_their_validity_whenever_the_job_runs(database: Database) -> None:
    run_state_machine_as_test(validity_machine(database), settings=SETTINGS)
