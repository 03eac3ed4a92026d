"""The dashboard's sums by local day, made in the database (order.queries.sales_by_day)."""

from __future__ import annotations

from datetime import datetime, timedelta

from memberkit.db import Database
from memberkit.kit.time import start_of_local_day, today
from memberkit.order import queries as order_queries
from memberkit.order import service as order_service
from memberkit.program.service import ProgramConfig
from tests.factories import make_member, make_store, post_order


def at(day: datetime, hours: float) -> datetime:
    """A moment ``hours`` after the start of a local day."""
    return day + timedelta(hours=hours)


def test_orders_are_summed_by_the_programs_local_days_net_of_refunds(
    database: Database, program: ProgramConfig
) -> None:
    # given three local days D0, D1, D2 (D2 ends the span) and orders around their midnights
    tz = program.tz
    first = today(tz) - timedelta(days=4)
    bounds = [start_of_local_day(first + timedelta(days=n), tz) for n in range(3)]
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
        ann = make_member(session, program, store_code="SH001")
        bob = make_member(session, program, store_code="SH002")
        post_order(session, program, ann, amount_minor=999, occurred_at=at(bounds[0], -0.1))
        post_order(
            session,
            program,
            ann,
            amount_minor=1000,
            occurred_at=at(bounds[0], 23.98),
            store_code="SH001",
        )
        post_order(
            session,
            program,
            ann,
            amount_minor=2000,
            occurred_at=at(bounds[1], 0.02),
            store_code="SH001",
            external_id="R-1",
        )
        post_order(
            session,
            program,
            bob,
            amount_minor=4000,
            occurred_at=at(bounds[1], 12),
            store_code="SH002",
        )
        post_order(
            session,
            program,
            bob,
            amount_minor=8000,
            occurred_at=at(bounds[2], 8),
            store_code="SH002",
        )
    with database.session_scope() as session:
        order_service.post_refund(
            session,
            program=program,
            refund=order_service.RefundIn(
                external_id="REF-1",
                order_external_id="R-1",
                occurred_at=at(bounds[1], 1),
                amount_minor=500,
            ),
        )

    with database.session_scope() as session:
        # when the chain's days are summed
        chain = order_queries.sales_by_day(session, program_id=program.id, bounds=bounds)
        # and SH001's alone
        store = order_queries.sales_by_day(
            session, program_id=program.id, bounds=bounds, stores=["SH001"]
        )

    # then each order is in its local day (net of the refund), the one before the span in
    # none, the one after the last day in the totals only
    assert chain == order_queries.Sales(
        by_day=[(1000, 1), (1500 + 4000, 2)], total=14500, orders=4, members=2
    )
    assert store == order_queries.Sales(
        by_day=[(1000, 1), (1500, 1)], total=2500, orders=2, members=1
    )
