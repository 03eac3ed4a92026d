"""The in-process scheduler: its timing (pure) and one daily run on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import select

from memberkit.db import Database
from memberkit.ledger.repository import member_balances
from memberkit.member.models import Member
from memberkit.scheduler import next_run


def test_next_run_is_today_when_the_time_is_still_ahead_in_shanghai() -> None:
    # 2026-11-23 17:30 UTC is 2026-11-24 01:30 in Shanghai: 02:00 local is half an hour away.
    now = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    assert next_run(now, time(2, 0)) == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_next_run_is_tomorrow_once_the_time_has_passed() -> None:
    now = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # exactly 02:00 local
    assert next_run(now, time(2, 0)) == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def test_the_daily_run_expires_decays_and_reviews_in_order(database: Database) -> None:
    """One daily run on a real database: decay lowers growth, then the review judges it."""
    from datetime import timedelta

    from memberkit.growth.rules import DEFAULT_GROWTH_RULES
    from memberkit.program import service as program_service
    from memberkit.scheduler import run_daily
    from tests.tier.test_service import buy, register, tier_of

    no = register(database, "13800138000")
    bought_at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    buy(database, no, "O-1", 350_000, bought_at)  # growth 3,500: gold, kept at review
    with database.session_scope() as session:
        program_service.configure(
            session,
            program=program_service.get(session),
            growth_rules={**DEFAULT_GROWTH_RULES, "decay": {"after_days": 180, "share": "0.5"}},
        )
    code, review_at = tier_of(database, no)
    assert code == "gold" and review_at is not None

    # Decay (3,500 -> 1,750) runs before the review, which then misses gold's 3,000.
    assert run_daily(database, as_of=review_at + timedelta(hours=2)) == []
    assert tier_of(database, no)[0] == "silver"
    with database.session_scope() as session:
        member_id = session.scalars(select(Member.id).where(Member.member_no == no)).one()
        assert member_balances(session, member_id=member_id)["growth"] == 1750
