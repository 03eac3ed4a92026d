"""Tiers on a real database: upgrade inside the order, undone by its refund, the review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from memberkit.db import Database
from memberkit.kit.time import Timing
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.tier import service as tier_service
from memberkit.tier.models import TierChange

NOW = datetime.now(UTC).replace(microsecond=0)


def register(database: Database, phone: str) -> str:
    with database.session_scope() as session:
        program = program_service.get(session)
        return member_service.register(session, program_id=program.id, phone=phone).member_no


def buy(
    database: Database, member_no: str, external_id: str, amount_minor: int, at: datetime = NOW
) -> order_service.OrderResult:
    with database.session_scope() as session:
        program = program_service.get(session)
        return order_service.post_order(
            session,
            program=program,
            order=order_service.OrderIn(
                external_id=external_id,
                member=order_service.MemberRef(member_no=member_no),
                store_code=None,
                channel="store",
                occurred_at=at,
                lines=[order_service.LineIn("A1", "x", "apparel", 1, amount_minor, amount_minor)],
                payments=[order_service.PaymentIn("card", amount_minor)],
            ),
            timing=Timing.replay(at),  # history, posted as if at its own time
        )


def tier_of(database: Database, member_no: str) -> tuple[str, datetime | None]:
    """The member's tier code and next review."""
    with database.session_scope() as session:
        member = session.scalars(select(Member).where(Member.member_no == member_no)).one()
        return member.tier_code, member.tier_review_at


def test_growth_crossing_a_threshold_upgrades_in_the_orders_own_result(database: Database) -> None:
    no = register(database, "13800138000")
    below = buy(database, no, "O-1", 60_000, NOW - timedelta(days=60))  # 600.00, growth 600
    assert below.tier is not None and (below.tier.code, below.tier.upgraded) == ("regular", False)

    crossing = buy(database, no, "O-2", 50_000, NOW - timedelta(days=59))  # growth 1,100

    assert crossing.tier is not None
    assert (crossing.tier.code, crossing.tier.upgraded) == ("silver", True)
    code, review_at = tier_of(database, no)
    assert code == "silver" and review_at is not None and review_at > NOW - timedelta(days=59)


def test_a_full_refund_undoes_the_upgrade_its_order_gave(database: Database) -> None:
    no = register(database, "13800138000")
    assert buy(database, no, "O-1", 90_000).tier.code == "gold"  # type: ignore[union-attr]
    with database.session_scope() as session:
        program = program_service.get(session)
        order_service.post_refund(
            session,
            program=program,
            refund=order_service.RefundIn(
                external_id="RF-1", order_external_id="O-1", occurred_at=NOW
            ),
        )
    assert tier_of(database, no) == ("regular", None)


def test_review_downgrades_exactly_those_who_miss_retention_and_is_idempotent(
    database: Database,
) -> None:
    keeper, loser = register(database, "13800138000"), register(database, "13900139000")
    buy(database, keeper, "K-1", 300_000)  # growth 3,000 -> gold, keeps gold (3,000)
    buy(database, loser, "L-1", 90_000)  # 900.00 in a day -> gold; growth 900 only
    assert tier_of(database, keeper)[0] == tier_of(database, loser)[0] == "gold"
    review_at = tier_of(database, keeper)[1]
    assert review_at is not None and review_at == tier_of(database, loser)[1]

    with database.session_scope() as session:
        program = program_service.get(session)
    first = tier_service.review(database, program=program, as_of=review_at)
    again = tier_service.review(database, program=program, as_of=review_at)

    assert (first.reviewed, first.kept, first.downgraded) == (2, 1, 1)
    assert (again.reviewed, again.kept, again.downgraded) == (0, 0, 0)
    assert tier_of(database, keeper)[0] == "gold"
    assert tier_of(database, loser)[0] == "silver"
    with database.session_scope() as session:
        reasons = sorted(session.scalars(select(TierChange.reason)))
        assert reasons == ["downgrade", "retained", "upgrade", "upgrade"]
        assert session.scalar(select(func.count(TierChange.id))) == 4


def test_tier_multiplier_applies_to_earning(database: Database) -> None:
    no = register(database, "13800138000")
    buy(database, no, "O-1", 90_000)  # reaches gold (x1.5)
    assert buy(database, no, "O-2", 10_000).points_earned == 150
