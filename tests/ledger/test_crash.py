"""A process killed mid-load leaves a ledger that still holds, with every acknowledged write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger.check import check
from memberkit.ledger.repository import member_balances
from memberkit.member import service as member_service
from memberkit.order import service as order_service
from memberkit.order.models import Order, Refund
from memberkit.order.service import LineIn, MemberRef, OrderIn, PaymentIn
from memberkit.program import service as program_service

#: Posts for one member until killed (or for 60 s at most): orders of 123.45, every third paid
#: partly with 50 points, and every fifth request a refund of 40.00 of the order before it.
#: Each line of the acknowledgement file is written after its commit returned.
LOAD = r"""
import sys, time
from memberkit.db import get_database
from memberkit.kit.time import utcnow
from memberkit.order import service
from memberkit.program import service as program_service

member_no, acks = sys.argv[1], sys.argv[2]
database = get_database()
deadline = time.monotonic() + 60
with open(acks, "a", buffering=1) as out:
    for n in range(1, 100_000):
        if time.monotonic() > deadline:
            break
        with database.session_scope() as session:
            program = program_service.get(session)
            if n % 5 == 0:
                ack = f"refund CRASH-R{n}"
                service.post_refund(session, program=program, refund=service.RefundIn(
                    f"CRASH-R{n}", f"CRASH-O{n - 1}", utcnow(), amount_minor=4_000))
            else:
                ack = f"order CRASH-O{n}"
                points = 50 if n % 3 == 0 else 0
                payments = [service.PaymentIn("cash", amount_minor=12_345 - points)]
                if points:
                    payments.append(service.PaymentIn("points", points=points))
                service.post_order(session, program=program, order=service.OrderIn(
                    f"CRASH-O{n}", service.MemberRef(member_no=member_no), None, "store",
                    utcnow(), [service.LineIn("SKU-1", "Tea", "drinks", 1, 12_345, 12_345)],
                    payments))
        out.write(ack + "\n")
"""


def acknowledged(path: Path) -> list[tuple[str, str]]:
    """The complete lines of the acknowledgement file, as (kind, external id)."""
    if not path.exists():
        return []
    lines = path.read_text().split("\n")[:-1]  # the last one may be cut off
    return [tuple(line.split(" ")) for line in lines]  # type: ignore[misc]


def test_killed_process_leaves_a_consistent_ledger(database: Database, tmp_path: Path) -> None:
    # given a member, and a process posting orders and refunds for it as fast as it can
    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.register(session, program_id=program.id, phone="13800000001")
    acks = tmp_path / "acks.txt"
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": database.url,
        "MEMBERKIT_SECRET_KEY": "test-secret-key-not-for-production",
        "MEMBERKIT_DATA_DIR": str(tmp_path / "data"),
        "MEMBERKIT_SCHEDULER": "false",
    }
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        load = subprocess.Popen(
            [sys.executable, "-c", LOAD, member.member_no, str(acks)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            # when it is killed in the middle of the load: once it has acknowledged ten
            # requests (however slow the machine), a little later
            for _ in range(1200):
                if len(acknowledged(acks)) >= 10 or load.poll() is not None:
                    break
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            load.send_signal(signal.SIGKILL)
            load.wait(timeout=30)
    assert load.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()
    acked = acknowledged(acks)
    assert len(acked) >= 10, "the load did not get going"

    # then every acknowledged order and refund is there, plus at most the one in flight
    with database.session_scope() as session:
        orders = session.execute(
            select(
                Order.external_id,
                Order.points_earned,
                Order.points_paid,
                Order.growth_earned,
                Order.refunded_minor,
                Order.points_reversed,
                Order.growth_reversed,
                Order.points_returned,
            ).where(Order.member_id == member.id)
        ).all()
        refunds = session.execute(
            select(
                Refund.external_id,
                Order.external_id,
                Refund.amount_minor,
                Refund.points_reversed,
                Refund.growth_reversed,
                Refund.points_returned,
            )
            .join(Order, Order.id == Refund.order_id)
            .where(Order.member_id == member.id)
        ).all()
        stored = {("order", o.external_id) for o in orders} | {("refund", r[0]) for r in refunds}
        assert set(acked) <= stored
        assert len(stored) - len(acked) in (0, 1)

        # and the balances are exactly what the stored orders and refunds say
        points = sum(o.points_earned - o.points_paid for o in orders) + sum(
            r.points_returned - r.points_reversed for r in refunds
        )
        growth = sum(o.growth_earned for o in orders) - sum(r.growth_reversed for r in refunds)
        assert member_balances(session, member_id=member.id) == {
            "points": points,
            "growth": growth,
            "wallet_principal": 0,
            "wallet_bonus": 0,
        }
        assert points > 0
        for o in orders:
            mine = [r for r in refunds if r[1] == o.external_id]
            assert (
                o.refunded_minor,
                o.points_reversed,
                o.growth_reversed,
                o.points_returned,
            ) == (
                sum(r.amount_minor for r in mine),
                sum(r.points_reversed for r in mine),
                sum(r.growth_reversed for r in mine),
                sum(r.points_returned for r in mine),
            )
        report = check(session)
        assert report.problems == []

    # when the service goes on after the restart
    with database.session_scope() as session:
        result = order_service.post_order(
            session,
            program=program,
            order=OrderIn(
                external_id="AFTER-RESTART",
                member=MemberRef(member_no=member.member_no),
                store_code=None,
                channel="store",
                occurred_at=utcnow(),
                lines=[LineIn("SKU-1", "Tea", "drinks", 1, 12_345, 12_345)],
                payments=[PaymentIn("cash", amount_minor=12_345)],
            ),
        )

    # then it builds on what survived
    assert result.points_earned > 0
    assert result.points_balance == points + result.points_earned
    with database.session_scope() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Order).where(Order.member_id == member.id)
            )
            == len(orders) + 1
        )
        assert check(session).problems == []
