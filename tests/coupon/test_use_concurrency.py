"""Coupons under concurrent orders (PostgreSQL): one use per coupon, never past a budget."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from memberkit.coupon import use as coupon_use
from memberkit.coupon.models import Coupon, CouponTemplate, OrderCoupon
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.member.models import Member
from memberkit.member.service import MemberRef
from memberkit.order import service as order_service
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from tests.coupon.factories import make_coupon, make_template
from tests.factories import make_member
from tests.ledger.test_concurrency import THREADS, in_threads


def _order(external_id: str, member_no: str, code: str) -> order_service.OrderIn:
    """A ¥60.00 order using ``code`` (a ¥10.00 voucher): ¥50.00 paid in cash."""
    return order_service.OrderIn(
        external_id=external_id,
        member=MemberRef(member_no=member_no),
        store_code=None,
        channel="store",
        occurred_at=utcnow(),
        lines=[order_service.LineIn("A1", "拿铁", "coffee", 2, 3000, 6000)],
        payments=[order_service.PaymentIn("cash", 5000)],
        coupons=(code,),
    )


def _post(database: Database, program: ProgramConfig, order: order_service.OrderIn) -> str:
    try:
        with database.session_scope() as session:
            order_service.post_order(session, program=program, order=order)
    except (coupon_use.CouponUsed, coupon_use.CouponBudgetSpent) as refused:
        return refused.code
    return "posted"


@pytest.mark.postgres_only
def test_one_coupon_posted_by_many_orders_at_once_is_used_by_exactly_one(
    database: Database, program: ProgramConfig
) -> None:
    # given one member holding one ¥10.00 voucher
    with database.session_scope() as session:
        member = make_member(session, program)
        code = make_coupon(session, make_template(session, program), member).code
        member_no = member.member_no

    # when 16 tills post orders using it at once
    outcomes = in_threads(lambda n: _post(database, program, _order(f"O-{n}", member_no, code)))

    # then one order won, the others were told it is used, and it was used once
    assert sorted(outcomes) == ["coupon_used"] * (THREADS - 1) + ["posted"]
    with database.session_scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
        assert session.scalar(select(func.count()).select_from(OrderCoupon)) == 1
        used = session.scalars(select(Coupon)).one()
        assert used.status == "used"
        assert session.scalars(select(CouponTemplate.discount_used_minor)).one() == 1000


@pytest.mark.postgres_only
def test_many_members_spending_the_last_of_a_budget_at_once_never_pass_it(
    database: Database, program: ProgramConfig
) -> None:
    # given a ¥10.00 voucher template with ¥55.00 of budget, and 16 members holding one each
    with database.session_scope() as session:
        template = make_template(session, program, budget_minor=5500)
        holders: list[tuple[str, str]] = []
        for _n in range(THREADS):
            member: Member = make_member(session, program)
            holders.append((member.member_no, make_coupon(session, template, member).code))

    # when they all check out at once
    outcomes = in_threads(lambda n: _post(database, program, _order(f"O-{n}", *holders[n])))

    # then five orders fit in the budget, the others were refused, and the counter holds
    assert outcomes.count("posted") == 5
    assert outcomes.count("coupon_budget_spent") == THREADS - 5
    with database.session_scope(read_only=True) as session:
        assert session.scalars(select(CouponTemplate.discount_used_minor)).one() == 5000
        assert session.scalar(select(func.count()).select_from(OrderCoupon)) == 5
        assert (
            session.scalar(select(func.count()).select_from(Coupon).where(Coupon.status == "used"))
            == 5
        )
