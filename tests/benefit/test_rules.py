"""Benefit rules without a database: system kinds, quota periods on the program's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from memberkit.benefit.rules import (
    BenefitKind,
    Period,
    Window,
    is_system,
    left,
    may_undo,
    period_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_only_the_discount_member_price_and_free_shipping_are_system_benefits() -> None:
    assert {kind for kind in BenefitKind if is_system(kind)} == {
        BenefitKind.discount,
        BenefitKind.member_price,
        BenefitKind.free_shipping,
    }


@pytest.mark.parametrize(
    ("period", "at", "window"),
    [
        # 2026-12-01 00:30 in Shanghai is still 30 November in UTC: the local day counts
        (Period.day, utc(2026, 11, 30, 16, 30), (utc(2026, 11, 30, 16), utc(2026, 12, 1, 16))),
        # Tuesday 1 December: the week began on Monday 30 November, local midnight
        (Period.week, utc(2026, 12, 1, 4), (utc(2026, 11, 29, 16), utc(2026, 12, 6, 16))),
        (Period.month, utc(2026, 11, 30, 16, 30), (utc(2026, 11, 30, 16), utc(2026, 12, 31, 16))),
        (Period.month, utc(2026, 11, 30, 15, 59), (utc(2026, 10, 31, 16), utc(2026, 11, 30, 16))),
        (Period.quarter, utc(2026, 12, 1, 4), (utc(2026, 9, 30, 16), utc(2026, 12, 31, 16))),
        (Period.year, utc(2026, 12, 31, 16), (utc(2026, 12, 31, 16), utc(2027, 12, 31, 16))),
    ],
)
def test_a_period_begins_at_local_midnight_in_shanghai(
    period: Period, at: datetime, window: tuple[datetime, datetime]
) -> None:
    assert period_of(period, at, SHANGHAI) == Window(*window)


def test_a_month_keeps_its_local_days_across_a_daylight_saving_change() -> None:
    # given Berlin's March 2027 (clocks go forward on the 28th)
    window = period_of(Period.month, utc(2027, 3, 15, 12), BERLIN)
    # then it runs from local midnight to local midnight: 31 days less the hour skipped
    assert window == Window(utc(2027, 2, 28, 23), utc(2027, 3, 31, 22))
    assert window.end is not None and window.start is not None
    assert window.end - window.start == timedelta(days=31) - timedelta(hours=1)


def test_a_quota_given_once_has_no_bounds() -> None:
    assert period_of(Period.once, utc(2026, 12, 1), SHANGHAI) == Window(None, None)


@pytest.mark.parametrize(("quota", "used", "rest"), [(2, 0, 2), (2, 1, 1), (2, 2, 0), (2, 3, 0)])
def test_what_is_left_of_a_quota(quota: int, used: int, rest: int) -> None:
    assert left(quota, used) == rest


def test_no_quota_leaves_no_limit() -> None:
    assert left(None, 99) is None


def test_a_use_may_be_undone_only_within_its_window() -> None:
    used = utc(2026, 12, 1, 4)
    window = timedelta(minutes=30)
    assert may_undo(used, used + timedelta(minutes=29), window=window)
    assert not may_undo(used, used + timedelta(minutes=30), window=window)
    assert not may_undo(used, used - timedelta(seconds=1), window=window)
