"""Catalog use cases on a real database: burning lots by expiry, giving them back with their
own expiry, stock, limits per period on the program's clock, pickup and cancelling once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.audit.rules import Origin
from memberkit.benefit.rules import Period
from memberkit.db import Database
from memberkit.events import OutboxEvent
from memberkit.kit.time import utcnow
from memberkit.ledger import service as ledger_service
from memberkit.ledger.check import check
from memberkit.ledger.models import PointsLot
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from memberkit.reward import service
from memberkit.reward.models import Reward
from memberkit.reward.rules import RewardKind
from tests.factories import make_member, make_store
from tests.rest import table_contents

ORIGIN = Origin("test")
MARCH = datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
JANUARY = datetime(2027, 1, 1, 16, 0, tzinfo=UTC)


def credit(
    database: Database, program: ProgramConfig, member: Member, points: int, **at: Any
) -> None:
    """Give the member ``points`` as one lot expiring at ``expires_at`` (None: never)."""
    with database.session_scope() as session:
        ledger_service.adjust(
            session,
            program_id=program.id,
            member_id=member.id,
            points=points,
            reason="given",
            actor="test",
            key=f"credit:{member.id}:{points}:{at.get('expires_at')}",
            occurred_at=utcnow(),
            expires_at=at.get("expires_at"),
        )


def lots(database: Database, member: Member) -> list[tuple[int, int, datetime | None, int | None]]:
    """The member's lots: (amount, remaining, expires_at, the lot it continues)."""
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(
                PointsLot.id,
                PointsLot.amount,
                PointsLot.remaining,
                PointsLot.expires_at,
                PointsLot.source_lot_id,
            )
            .where(PointsLot.member_id == member.id)
            .order_by(PointsLot.id)
        )
        return [
            (amount, remaining, expires.replace(tzinfo=UTC) if expires else None, source)
            for _id, amount, remaining, expires, source in rows
        ]


def define(database: Database, program: ProgramConfig, code: str = "tumbler", **terms: Any) -> None:
    spec = service.RewardSpec(
        code=code, kind=RewardKind.goods, name="保温杯", **{"points": 500, **terms}
    )
    with database.session_scope() as session:
        service.define(session, program=program, spec=spec, origin=ORIGIN)


def redeem(
    database: Database, program: ProgramConfig, member: Member, external_id: str, **given: Any
) -> service.Redeemed:
    with database.session_scope() as session:
        return service.redeem(
            session,
            program=program,
            member_no=member.member_no,
            code=given.pop("code", "tumbler"),
            external_id=external_id,
            quantity=given.pop("quantity", 1),
            store_code=given.pop("store_code", None),
            actor="test",
        )


def cancel(database: Database, program: ProgramConfig, external_id: str) -> service.Redeemed:
    with database.session_scope() as session:
        return service.cancel(
            session,
            program=program,
            external_id=external_id,
            reason="会员改主意",
            store_code=None,
            origin=ORIGIN,
        )


def stock(database: Database) -> tuple[int | None, int]:
    with database.session_scope(read_only=True) as session:
        reward = session.scalars(select(Reward)).one()
        return reward.stock, reward.redeemed


@pytest.fixture
def member(database: Database, program: ProgramConfig) -> Member:
    with database.session_scope() as session:
        made = make_member(session, program)
        session.expunge(made)
        return made


def test_a_redemption_burns_the_earliest_expiring_lots_first(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given lots of 300 points expiring in March, in January, and never
    credit(database, program, member, 300, expires_at=MARCH)
    credit(database, program, member, 301, expires_at=JANUARY)
    credit(database, program, member, 302, expires_at=None)

    # when 2 tumblers of 250 points are redeemed
    define(database, program, points=250, stock=5)
    made = redeem(database, program, member, "R-1", quantity=2)

    # then January's lot is spent first, then 199 of March's; the never-expiring one is kept
    assert (made.points_balance, made.redemption.points, made.redemption.status) == (
        403,
        500,
        "pending",
    )
    assert lots(database, member) == [
        (300, 101, MARCH, None),
        (301, 0, JANUARY, None),
        (302, 302, None, None),
    ]
    assert stock(database) == (3, 2)


def test_a_cancellation_gives_the_points_back_with_their_lots_own_expiry(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given 500 points burnt from a January lot (301) and a March lot (199)
    credit(database, program, member, 300, expires_at=MARCH)
    credit(database, program, member, 301, expires_at=JANUARY)
    define(database, program, points=250, stock=5)
    redeem(database, program, member, "R-1", quantity=2)

    # when the redemption is cancelled
    back = cancel(database, program, "R-1")

    # then the points come back as lots continuing those they came from, with the same expiry
    first, second = (lot for lot in lots(database, member)[:2])
    assert back.points_balance == 601
    assert back.redemption.status == "cancelled"
    with database.session_scope(read_only=True) as session:
        march_id, january_id = session.scalars(
            select(PointsLot.id).where(PointsLot.member_id == member.id).order_by(PointsLot.id)
        ).all()[:2]
    assert lots(database, member) == [
        first,
        second,
        (301, 301, JANUARY, january_id),
        (199, 199, MARCH, march_id),
    ]
    assert stock(database) == (5, 0)
    with database.session_scope(read_only=True) as session:
        assert check(session).ok
        audited = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        told = session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)).all()
    assert audited == ["reward.create", "redemption.cancel"]
    assert told[-2:] == ["reward.redeemed", "reward.cancelled"]


def test_points_whose_lot_expired_since_come_back_expired(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given 500 points burnt from a lot expiring on 1 January and one expiring in March
    credit(database, program, member, 300, expires_at=MARCH)
    credit(database, program, member, 301, expires_at=JANUARY)
    define(database, program, points=250)
    redeem(database, program, member, "R-1", quantity=2)

    # when the redemption is cancelled after 1 January
    with time_machine.travel(datetime(2027, 1, 5, tzinfo=UTC), tick=True):
        back = cancel(database, program, "R-1")

    # then January's 301 points come back already expired: only March's 199 are live again
    assert back.points_balance == 101 + 199
    with database.session_scope(read_only=True) as session:
        assert check(session).ok


def test_the_limit_counts_per_day_on_the_programs_clock(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    # given one tumbler a day for each member, and enough points for three
    credit(database, program, member, 1500)
    define(database, program, limit_count=1, limit_period=Period.day)

    # when one is redeemed at 23:50 in Shanghai and another at 23:59
    with time_machine.travel(datetime.fromisoformat("2026-11-23T23:50:00+08:00"), tick=True):
        redeem(database, program, member, "R-1")
        before = table_contents(database)
        with pytest.raises(service.RewardMemberLimit) as refused:
            redeem(database, program, member, "R-2")

    # then the second is refused, saying when the limit starts again, and nothing changed
    assert str(refused.value) == (
        "Reward tumbler: 0 of 1 left for this member this period, 1 asked for. "
        "The limit starts again on 2026-11-24."
    )
    assert table_contents(database) == before

    # and after local midnight (still 23 November in UTC) one more may be redeemed
    with time_machine.travel(datetime.fromisoformat("2026-11-24T00:00:30+08:00"), tick=True):
        assert redeem(database, program, member, "R-3").points_balance == 500


def test_a_cancelled_redemption_counts_no_more_against_the_limit(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    credit(database, program, member, 1500)
    define(database, program, limit_count=1)
    redeem(database, program, member, "R-1")
    cancel(database, program, "R-1")
    assert redeem(database, program, member, "R-2").points_balance == 1000


def test_a_picked_up_redemption_is_never_cancelled_nor_picked_up_twice(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    credit(database, program, member, 1000)
    define(database, program, stock=2)
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
    redeem(database, program, member, "R-1")
    with database.session_scope() as session:
        picked = service.fulfil(
            session, program=program, external_id="R-1", store_code="SH001", origin=ORIGIN
        )
    assert (picked.status, picked.fulfilled_store_code) == ("fulfilled", "SH001")
    before = table_contents(database)
    with pytest.raises(service.RedemptionNotPending) as refused:
        cancel(database, program, "R-1")
    assert str(refused.value) == (
        "Redemption R-1 is picked up: only a pending one can be cancelled."
    )
    with pytest.raises(service.RedemptionNotPending), database.session_scope() as session:
        service.fulfil(
            session, program=program, external_id="R-1", store_code="SH001", origin=ORIGIN
        )
    assert table_contents(database) == before
    assert stock(database) == (1, 1)


def test_the_last_unit_goes_once_and_the_rest_is_out_of_stock(
    database: Database, program: ProgramConfig, member: Member
) -> None:
    credit(database, program, member, 1500)
    define(database, program, stock=1)
    redeem(database, program, member, "R-1")
    before = table_contents(database)
    with pytest.raises(service.RewardOutOfStock):
        redeem(database, program, member, "R-2")
    assert table_contents(database) == before
    cancel(database, program, "R-1")
    assert redeem(database, program, member, "R-3").redemption.status == "pending"
    assert stock(database) == (0, 1)
