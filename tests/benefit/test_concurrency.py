"""Many stores verifying the last of one member's quota at once: exactly the quota wins."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from memberkit.benefit import service
from memberkit.benefit.models import BenefitUse
from memberkit.benefit.rules import BenefitKind, Period
from memberkit.db import Database
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from tests.factories import make_member
from tests.ledger.test_concurrency import in_threads


@pytest.mark.postgres_only
def test_concurrent_verifications_never_pass_the_quota(
    database: Database, program: ProgramConfig
) -> None:
    # given 3 free parking vouchers a month, and 16 tills verifying one each at once
    with database.session_scope() as session:
        member_no = make_member(session, program).member_no
        service.define(
            session, program=program, code="free_parking", kind=BenefitKind.parking, name="停车"
        )
        service.grant(
            session,
            program=program,
            code="free_parking",
            grants=[service.GrantIn("regular", 3, Period.month)],
        )
    program_service.forget_cache()

    def verify(n: int) -> str:
        try:
            with database.session_scope() as session:
                service.use(
                    session,
                    program=program,
                    member_no=member_no,
                    code="free_parking",
                    external_id=f"U-{n}",
                    quantity=1,
                    store_code=None,
                    actor="test",
                )
        except service.QuotaExhausted:
            return "refused"
        return "used"

    outcomes = in_threads(verify)

    # then exactly three were used, the rest told the quota is spent
    assert sorted(outcomes).count("used") == 3
    assert outcomes.count("refused") == 13
    with database.session_scope(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(BenefitUse)) == 3
