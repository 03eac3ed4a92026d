"""Many members redeeming the last units at once, and one member redeeming from many tills:
stock never below zero, points never overspent, the ledger balanced."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from memberkit.audit.rules import Origin
from memberkit.db import Database
from memberkit.ledger.check import check
from memberkit.ledger.repository import member_balances
from memberkit.ledger.service import InsufficientPoints
from memberkit.member.models import Member
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.reward import service
from memberkit.reward.models import Redemption, Reward
from memberkit.reward.rules import RewardKind
from tests.factories import make_member, make_store
from tests.ledger.test_concurrency import THREADS, in_threads
from tests.reward.test_service import credit


def _define(database: Database, program: ProgramConfig, **terms: object) -> None:
    spec = service.RewardSpec(
        code="tumbler",
        kind=RewardKind.goods,
        name="保温杯",
        **{"points": 500, **terms},  # type: ignore[arg-type]
    )
    with database.session_scope() as session:
        service.define(session, program=program, spec=spec, origin=Origin("test"))
    program_service.forget_cache()


def _redeem(database: Database, program: ProgramConfig, member_no: str, n: int) -> str:
    try:
        with database.session_scope() as session:
            service.redeem(
                session,
                program=program,
                member_no=member_no,
                code="tumbler",
                external_id=f"R-{n}",
                quantity=1,
                store_code=None,
                actor="test",
            )
    except service.RewardOutOfStock:
        return "reward_out_of_stock"
    except InsufficientPoints:
        return "insufficient_points"
    return "redeemed"


@pytest.mark.postgres_only
def test_many_members_redeeming_the_last_three_units_get_exactly_three(
    database: Database, program: ProgramConfig
) -> None:
    # given 16 members with 1000 points each, and 3 tumblers left
    members: list[Member] = []
    with database.session_scope() as session:
        for _ in range(THREADS):
            made = make_member(session, program)
            session.expunge(made)
            members.append(made)
    for member in members:
        credit(database, program, member, 1000)
    _define(database, program, stock=3)

    # when each redeems one at once
    outcomes = in_threads(lambda n: _redeem(database, program, members[n].member_no, n))

    # then three win, the rest are told it is out of stock, and nothing goes below zero
    assert outcomes.count("redeemed") == 3
    assert outcomes.count("reward_out_of_stock") == THREADS - 3
    with database.session_scope(read_only=True) as session:
        reward = session.scalars(select(Reward)).one()
        assert (reward.stock, reward.redeemed) == (0, 3)
        assert session.scalar(select(func.count()).select_from(Redemption)) == 3
        balances = sorted(member_balances(session, member_id=m.id)["points"] for m in members)
        assert balances == [500] * 3 + [1000] * (THREADS - 3)
        assert check(session).ok


@pytest.mark.postgres_only
def test_one_member_redeeming_from_many_tills_never_overspends(
    database: Database, program: ProgramConfig
) -> None:
    # given a member with 2600 points (five tumblers' worth) and plenty of stock
    with database.session_scope() as session:
        member = make_member(session, program)
        session.expunge(member)
    credit(database, program, member, 2600)
    _define(database, program, stock=100)

    # when 16 tills redeem one each at once
    outcomes = in_threads(lambda n: _redeem(database, program, member.member_no, n))

    # then five are redeemed, the others refused for points, and the ledger holds
    assert outcomes.count("redeemed") == 5
    assert outcomes.count("insufficient_points") == THREADS - 5
    with database.session_scope(read_only=True) as session:
        assert member_balances(session, member_id=member.id)["points"] == 100
        reward = session.scalars(select(Reward)).one()
        assert (reward.stock, reward.redeemed) == (95, 5)
        assert check(session).ok


@pytest.mark.postgres_only
def test_a_pickup_and_cancellations_racing_on_one_redemption_settle_it_once(
    database: Database, program: ProgramConfig
) -> None:
    # given one pending redemption of 500 points, and a store to pick it up at
    with database.session_scope() as session:
        member = make_member(session, program)
        session.expunge(member)
        make_store(session, program, code="SH001")
    credit(database, program, member, 500)
    _define(database, program, stock=1)
    assert _redeem(database, program, member.member_no, 0) == "redeemed"

    # when eight tills hand it over and eight desks cancel it, all at once
    def settle(n: int) -> str:
        try:
            with database.session_scope() as session:
                if n % 2:
                    service.fulfil(
                        session,
                        program=program,
                        external_id="R-0",
                        store_code="SH001",
                        origin=Origin("till"),
                    )
                    return "fulfilled"
                service.cancel(
                    session,
                    program=program,
                    external_id="R-0",
                    reason="race",
                    store_code=None,
                    origin=Origin("desk"),
                )
                return "cancelled"
        except service.RedemptionNotPending:
            return "refused"

    outcomes = in_threads(settle)

    # then exactly one of them settled it, and points and stock agree with which
    assert outcomes.count("refused") == THREADS - 1
    [won] = [outcome for outcome in outcomes if outcome != "refused"]
    with database.session_scope(read_only=True) as session:
        redemption = session.scalars(select(Redemption)).one()
        reward = session.scalars(select(Reward)).one()
        points = member_balances(session, member_id=member.id)["points"]
        assert check(session).ok
    assert redemption.status == won
    assert (reward.stock, points) == ((0, 0) if won == "fulfilled" else (1, 500))
