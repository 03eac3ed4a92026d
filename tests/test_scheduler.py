"""The in-process scheduler: its timing (pure) and one daily run on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from memberkit.db import Database
from memberkit.ledger.repository import member_balances
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from memberkit.scheduler import RECHECK, Calendar, next_run
from memberkit.sections import SECTIONS


def test_next_run_is_today_when_the_time_is_still_ahead_in_shanghai() -> None:
    # 2026-11-23 17:30 UTC is 2026-11-24 01:30 in Shanghai: 02:00 local is half an hour away.
    now = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    assert next_run(now, time(2, 0)) == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_next_run_is_tomorrow_once_the_time_has_passed() -> None:
    now = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # exactly 02:00 local
    assert next_run(now, time(2, 0)) == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def test_the_daily_run_expires_decays_and_reviews_in_order(database: Database) -> None:
    """One daily run on a real database: decay lowers growth, then the review judges it."""
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


def test_each_program_runs_at_the_time_on_its_own_wall_clock() -> None:
    # given a program in Shanghai (UTC+8) and one in Berlin (UTC+1 in winter), jobs at 02:00,
    # and a scheduler that started at 2026-11-23 12:00 UTC (20:00 Shanghai, 13:00 Berlin)
    shanghai, berlin = _program("cn", "Asia/Shanghai"), _program("de", "Europe/Berlin")
    calendar = Calendar(time(2, 0))
    started = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert calendar.due(started, [shanghai, berlin]) == []  # both past 02:00: tomorrow

    # then it wakes at 02:00 Shanghai, runs Shanghai's jobs only, once
    wake = calendar.wake(started, [shanghai, berlin])
    assert wake == started + RECHECK
    at_shanghai = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    assert calendar.wake(at_shanghai - timedelta(minutes=1), [shanghai, berlin]) == at_shanghai
    assert calendar.due(at_shanghai, [shanghai, berlin]) == ["cn"]
    assert calendar.due(at_shanghai + timedelta(hours=1), [shanghai, berlin]) == []

    # and at 02:00 Berlin, Berlin's
    at_berlin = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert calendar.due(at_berlin - timedelta(seconds=1), [shanghai, berlin]) == []
    assert calendar.due(at_berlin, [shanghai, berlin]) == ["de"]

    # and a program whose timezone changes runs at most once on a local day
    moved = _program("cn", "Europe/Berlin")
    assert calendar.due(at_berlin + timedelta(minutes=1), [moved, berlin]) == []


def test_a_program_seen_before_its_time_runs_the_same_day() -> None:
    calendar = Calendar(time(2, 0))
    shanghai = _program("cn", "Asia/Shanghai")
    before = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 01:00 in Shanghai
    assert calendar.due(before, [shanghai]) == []
    assert calendar.due(datetime(2026, 11, 23, 18, 0, tzinfo=UTC), [shanghai]) == ["cn"]


def _program(code: str, timezone: str) -> ProgramConfig:
    """A program configuration with every section at its default but the timezone."""
    values = {section.name: section.parse(section.default()) for section in SECTIONS}
    values["calendar"] = ZoneInfo(timezone)
    return ProgramConfig(
        id=1,
        code=code,
        name=code,
        currency="CNY",
        points_name="积分",
        points_per_currency_unit=100,
        values=values,
        stored={},
    )
