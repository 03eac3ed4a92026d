"""A hand-built history the report tests share: two stores, members, orders, refunds, stored value.

Dates are fixed days of 2026 in the program's timezone (Asia/Shanghai), posted as replays.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from memberkit.db import Database
from memberkit.kit.time import Timing
from memberkit.order import service as order_service
from memberkit.program.service import ProgramConfig
from memberkit.wallet import service as wallet_service
from tests.factories import make_member, make_store, post_order

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: str, clock: str = "10:00") -> datetime:
    """A moment of a local day in Shanghai."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=SHANGHAI)


def build(database: Database, program: ProgramConfig) -> dict[str, str]:
    """A of SH001 (joined 2026-09-15), B of SH002 (2026-10-02, referred by A), C of no store
    (2026-10-25); orders in September to November; returns their card numbers.

    Orders (net of refunds):
      A  2026-09-30 23:30 at SH001  ¥999.00  (the day before the period)
      A  2026-10-05 at SH001  ¥100.00
      A  2026-10-20 at SH001  ¥50.00, ¥20.00 refunded 10-21  -> ¥30.00
      B  2026-11-03 at SH002  ¥80.00
      B  2026-11-04 at SH001  ¥40.00, fully refunded 11-05  -> no order
      C  2026-11-10 online    ¥60.00
    Stored value: A recharges ¥500.00 at SH001 on 2026-10-06 (the default steps give a bonus).
    """
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
        a = make_member(session, program, store_code="SH001", registered_at=at("2026-09-15"))
        b = make_member(
            session,
            program,
            store_code="SH002",
            registered_at=at("2026-10-02"),
            referrer_member_no=a.member_no,
        )
        c = make_member(session, program, channel="online", registered_at=at("2026-10-25"))
        orders = (
            (a, "O-A0", "2026-09-30", "23:30", 99_900, "SH001"),
            (a, "O-A1", "2026-10-05", "10:00", 10_000, "SH001"),
            (a, "O-A2", "2026-10-20", "10:00", 5_000, "SH001"),
            (b, "O-B1", "2026-11-03", "10:00", 8_000, "SH002"),
            (b, "O-B2", "2026-11-04", "10:00", 4_000, "SH001"),
            (c, "O-C1", "2026-11-10", "10:00", 6_000, None),
        )
        for member, external_id, day, clock, amount, store in orders:
            post_order(
                session,
                program,
                member,
                amount_minor=amount,
                external_id=external_id,
                occurred_at=at(day, clock),
                store_code=store,
                timing=Timing.replay(at(day, clock)),
            )
        for external_id, order, day, amount in (
            ("RF-A2", "O-A2", "2026-10-21", 2_000),
            ("RF-B2", "O-B2", "2026-11-05", None),
        ):
            order_service.post_refund(
                session,
                program=program,
                refund=order_service.RefundIn(
                    external_id=external_id,
                    order_external_id=order,
                    occurred_at=at(day),
                    amount_minor=amount,
                ),
                timing=Timing.replay(at(day)),
            )
        wallet_service.recharge(
            session,
            program=program,
            member_no=a.member_no,
            external_id="RC-A",
            amount_minor=50_000,
            method="cash",
            store_code="SH001",
            occurred_at=at("2026-10-06"),
            timing=Timing.replay(at("2026-10-06")),
        )
        return {"A": a.member_no, "B": b.member_no, "C": c.member_no}
