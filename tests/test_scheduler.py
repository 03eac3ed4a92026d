"""The in-process scheduler's timing (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from memberkit.scheduler import next_run


def test_next_run_is_today_when_the_time_is_still_ahead_in_shanghai() -> None:
    # 2026-11-23 17:30 UTC is 2026-11-24 01:30 in Shanghai: 02:00 local is half an hour away.
    now = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
    assert next_run(now, time(2, 0)) == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_next_run_is_tomorrow_once_the_time_has_passed() -> None:
    now = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # exactly 02:00 local
    assert next_run(now, time(2, 0)) == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
