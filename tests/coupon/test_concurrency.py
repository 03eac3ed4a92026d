"""Many tills issuing the last units of a template's budget at once: exactly the budget wins."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from memberkit.coupon import service
from memberkit.coupon.models import Coupon, CouponSource, CouponTemplate
from memberkit.coupon.rules import CouponKind
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from tests.factories import make_member
from tests.ledger.test_concurrency import THREADS, in_threads

BUDGET = 5


@pytest.mark.postgres_only
def test_concurrent_issues_never_pass_the_budget(
    database: Database, program: ProgramConfig
) -> None:
    # given a template of 5 coupons, 2 already issued, and one member per thread
    given = service.TemplateIn(
        kind=CouponKind.cash, name="限量券", off_minor=1000, valid_days=7, budget_count=BUDGET
    )
    with database.session_scope() as session:
        template, _made = service.define(session, program=program, code="few", given=given)
        members = [make_member(session, program).id for _n in range(THREADS + 2)]
        for member_id in members[:2]:
            service.issue(
                session,
                program=program,
                template=template,
                member_id=member_id,
                batch_key="early",
                source=CouponSource.hand,
                actor="test",
            )

    def issue(n: int) -> str:
        try:
            with database.session_scope() as session:
                template = service.found(session, program=program, code="few")
                service.issue(
                    session,
                    program=program,
                    template=template,
                    member_id=members[n + 2],
                    batch_key="rush",
                    source=CouponSource.hand,
                    actor="test",
                )
        except service.BudgetSpent as refused:
            assert refused.status == 409
            return "refused"
        return "issued"

    # when every thread issues one at the same moment
    outcomes = in_threads(issue)

    # then exactly the 3 units left were issued, the rest told the budget is spent
    assert outcomes.count("issued") == BUDGET - 2
    assert outcomes.count("refused") == THREADS - (BUDGET - 2)
    with database.session_scope(read_only=True) as session:
        assert session.scalar(select(CouponTemplate.issued)) == BUDGET
        assert session.scalar(select(func.count()).select_from(Coupon)) == BUDGET


@pytest.mark.postgres_only
def test_concurrent_issues_to_one_member_keep_the_limit_and_replay_one_coupon(
    database: Database, program: ProgramConfig
) -> None:
    # given a template of one coupon per member, and one member
    given = service.TemplateIn(
        kind=CouponKind.cash, name="每人一张", off_minor=500, valid_days=7, per_member_limit=1
    )
    with database.session_scope() as session:
        service.define(session, program=program, code="one", given=given)
        member_id = make_member(session, program).id

    def issue(n: int) -> str:
        try:
            with database.session_scope() as session:
                template = service.found(session, program=program, code="one")
                issued = service.issue(
                    session,
                    program=program,
                    template=template,
                    member_id=member_id,
                    # half the threads replay one key, the others each try a key of their own
                    batch_key="same" if n % 2 else f"own-{n}",
                    source=CouponSource.hand,
                    actor="test",
                )
        except service.MemberLimit:
            return "limit"
        return issued.coupon.code

    # when every thread issues to the member at the same moment
    outcomes = in_threads(issue)

    # then the member holds exactly one coupon: every other thread was told the limit, or
    # (replaying the key that won) answered the same coupon
    codes = {outcome for outcome in outcomes if outcome != "limit"}
    assert len(codes) == 1
    with database.session_scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Coupon)) == 1
        assert session.scalar(select(CouponTemplate.issued)) == 1
