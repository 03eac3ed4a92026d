"""Many threads on one hot member: balance changes are serialized and the ledger holds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger import service as ledger_service
from memberkit.ledger.check import check
from memberkit.ledger.models import LedgerTransaction, PointsLot
from memberkit.ledger.repository import member_balances
from memberkit.ledger.service import InsufficientPoints, InsufficientWallet
from memberkit.member import service as member_service
from memberkit.order import service as order_service
from memberkit.order.models import Order
from memberkit.order.service import (
    LineIn,
    MemberRef,
    OrderIn,
    OrderResult,
    PaymentIn,
    RefundIn,
    RefundResult,
)
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.wallet import service as wallet_service
from tests.conftest import set_rules

THREADS = 16
ONE_TIER = {"tiers": [{"code": "regular", "name": "普通会员", "multiplier": "1"}]}
T = TypeVar("T")


def in_threads(work: Callable[[int], T], count: int = THREADS) -> list[T]:
    """Run ``work(0…count-1)`` in as many threads, released together by a barrier."""
    barrier = threading.Barrier(count)

    def lined_up(n: int) -> T:
        barrier.wait(timeout=60)
        return work(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lined_up, range(count)))


def order(
    external_id: str, member_no: str, *, cash: int = 0, points: int = 0, quantity: int = 1
) -> OrderIn:
    """One single-line order of ``cash`` minor units plus ``points``."""
    payments = [PaymentIn("cash", amount_minor=cash)] if cash else []
    if points:
        payments.append(PaymentIn("points", points=points))
    total = cash + points  # 100 points are 1 yuan: one point pays one fen
    return OrderIn(
        external_id=external_id,
        member=MemberRef(member_no=member_no),
        store_code=None,
        channel="store",
        occurred_at=utcnow(),
        lines=[LineIn("SKU-1", "Tea", "drinks", quantity, total // quantity, total)],
        payments=payments,
    )


def register(database: Database) -> tuple[ProgramConfig, int, str]:
    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.register(session, program_id=program.id, phone="13800000001")
        return program, member.id, member.member_no


@pytest.mark.postgres_only
def test_threads_spending_from_one_member_never_overdraw(database: Database) -> None:
    # given a member holding 1,000 points
    program, member_id, member_no = register(database)
    with database.session_scope() as session:
        member_service.find(session, program_id=program.id, member_no=member_no, lock=True)
        ledger_service.adjust(
            session,
            program_id=program.id,
            member_id=member_id,
            points=1_000,
            reason="opening balance",
            actor="test",
            key="opening",
            occurred_at=utcnow(),
            expires_at=None,
        )

    # when 16 threads at once each pay a 0.70 order with 70 points, retrying nothing
    def spend(n: int) -> OrderResult | InsufficientPoints:
        try:
            with database.session_scope() as session:
                return order_service.post_order(
                    session, program=program, order=order(f"SPEND-{n}", member_no, points=70)
                )
        except InsufficientPoints as refusal:
            return refusal

    outcomes = in_threads(spend)

    # then exactly 14 (= 1000 // 70) succeed, one after another, and the other two are refused
    spent = [o for o in outcomes if isinstance(o, OrderResult)]
    refused = [o for o in outcomes if isinstance(o, InsufficientPoints)]
    assert len(spent) == 1_000 // 70 == 14
    assert sorted(o.points_balance for o in spent) == [1_000 - 70 * k for k in range(14, 0, -1)]
    assert [r.params for r in refused] == [{"needed": 70, "balance": 20}] * 2
    with database.session_scope() as session:
        assert member_balances(session, member_id=member_id) == {
            "points": 20,
            "growth": 0,
            "wallet_principal": 0,
            "wallet_bonus": 0,
        }
        assert session.scalar(select(func.count()).select_from(Order)) == 14
        assert session.scalar(select(func.count()).select_from(LedgerTransaction)) == 1 + 14
        assert session.scalar(select(func.sum(PointsLot.remaining))) == 20
        report = check(session)
        assert report.problems == []
        assert report.debts == []


def test_threads_earning_and_refunding_on_one_member_add_up(database: Database) -> None:
    # given a member with four 100.00 orders (400 points) who spent 380 of the points
    set_rules(database, tier_ladder=ONE_TIER)  # 1 point per yuan, whatever the member's tier
    program, member_id, member_no = register(database)
    with database.session_scope() as session:
        for n in range(4):
            order_service.post_order(
                session, program=program, order=order(f"OLD-{n}", member_no, cash=10_000)
            )
    with database.session_scope() as session:
        order_service.post_order(
            session, program=program, order=order("SPENT", member_no, points=380)
        )

    # when, all at once, 8 threads post 33.33 orders (33 points each) while 8 threads refund
    # 25.00 of the old orders, two threads per order
    def work(n: int) -> OrderResult | RefundResult:
        with database.session_scope() as session:
            if n % 2:
                return order_service.post_order(
                    session, program=program, order=order(f"NEW-{n}", member_no, cash=3_333)
                )
            refund = RefundIn(f"RF-{n}", f"OLD-{n // 2 % 4}", utcnow(), amount_minor=2_500)
            return order_service.post_refund(session, program=program, refund=refund)

    outcomes = in_threads(work)

    # then every request did its full share, and the balance is their sum
    earned = [o for o in outcomes if isinstance(o, OrderResult)]
    refunds = [o for o in outcomes if isinstance(o, RefundResult)]
    assert [(o.points_earned, o.growth_earned) for o in earned] == [(33, 33)] * 8
    assert [(r.points_reversed, r.growth_reversed, r.points_returned) for r in refunds] == [
        (25, 25, 0)
    ] * 8
    points = 20 + sum(o.points_earned for o in earned) - sum(r.points_reversed for r in refunds)
    growth = 400 + sum(o.growth_earned for o in earned) - sum(r.growth_reversed for r in refunds)
    assert (points, growth) == (84, 464)
    with database.session_scope() as session:
        assert member_balances(session, member_id=member_id) == {
            "points": 84,
            "growth": 464,
            "wallet_principal": 0,
            "wallet_bonus": 0,
        }
        counters = session.execute(
            select(
                Order.external_id,
                Order.refunded_minor,
                Order.points_reversed,
                Order.growth_reversed,
            )
            .where(Order.external_id.like("OLD-%"))
            .order_by(Order.external_id)
        ).all()
        assert [tuple(row) for row in counters] == [(f"OLD-{n}", 5_000, 50, 50) for n in range(4)]
        assert session.scalar(select(func.sum(PointsLot.remaining))) == 84
        report = check(session)
        assert report.problems == []
        assert report.debts == []


@pytest.mark.postgres_only
def test_threads_paying_from_one_wallet_never_overdraw(database: Database) -> None:
    # given a wallet holding 1,000.00 principal and a 150.00 bonus
    program, member_id, member_no = register(database)
    with database.session_scope() as session:
        wallet_service.recharge(
            session,
            program=program,
            member_no=member_no,
            external_id="RC-1",
            amount_minor=100_000,
            method="cash",
            store_code=None,
            occurred_at=utcnow(),
        )

    # when 16 threads at once each pay an 80.00 order from the wallet
    def pay(n: int) -> OrderResult | InsufficientWallet:
        payment = OrderIn(
            external_id=f"PAY-{n}",
            member=MemberRef(member_no=member_no),
            store_code=None,
            channel="store",
            occurred_at=utcnow(),
            lines=[LineIn("SKU-1", "Tea", "drinks", 1, 8_000, 8_000)],
            payments=[PaymentIn("wallet", amount_minor=8_000)],
        )
        try:
            with database.session_scope() as session:
                return order_service.post_order(session, program=program, order=payment)
        except InsufficientWallet as refusal:
            return refusal

    outcomes = in_threads(pay)

    # then exactly 14 (= 1150 // 80) are paid, the other two refused, and the wallet holds 30.00
    paid = [o for o in outcomes if isinstance(o, OrderResult)]
    assert len(paid) == 115_000 // 8_000 == 14
    assert sum(o.wallet_principal_paid + o.wallet_bonus_paid for o in paid) == 14 * 8_000
    with database.session_scope() as session:
        held = member_balances(session, member_id=member_id)
        assert held["wallet_principal"] + held["wallet_bonus"] == 3_000
        assert held["wallet_principal"] >= 0 and held["wallet_bonus"] >= 0
        assert held["wallet_principal"] == 100_000 - sum(o.wallet_principal_paid for o in paid)
        assert check(session).ok
