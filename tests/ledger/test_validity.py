"""When a lot earned at a given time expires, under each validity policy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.ledger.validity import ValidityError, ValidityPolicy

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def test_end_of_year_runs_to_the_end_of_the_next_year_in_local_time() -> None:
    # given the usual 次年年底 policy
    policy = ValidityPolicy.from_config({"type": "end_of_year", "years": 1})

    # when points are earned on 1 March 2025 in Shanghai
    expires = policy.expires_at(datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI), SHANGHAI)

    # then they expire at local midnight starting 2027, which is 16:00 UTC the day before
    assert expires == datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI)
    assert expires == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert expires is not None and expires.tzinfo is UTC
    assert expires.isoformat() == "2026-12-31T16:00:00+00:00"


def test_end_of_year_uses_the_local_earning_day_not_the_utc_one() -> None:
    # given points earned at 17:00 UTC on 31 December, already 1 January in Shanghai
    policy = ValidityPolicy(type="end_of_year", years=1)
    earned_at = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)

    # when the expiry is computed in Shanghai
    # then the earning year is 2026
    assert policy.last_valid_day(date(2026, 1, 1)) == date(2027, 12, 31)
    assert policy.expires_at(earned_at, SHANGHAI) == datetime(2027, 12, 31, 16, 0, tzinfo=UTC)


def test_end_of_year_with_zero_years_ends_the_earning_year() -> None:
    policy = ValidityPolicy.from_config({"type": "end_of_year", "years": 0})

    expires = policy.expires_at(datetime(2025, 12, 31, 23, 59, tzinfo=SHANGHAI), SHANGHAI)

    assert policy.last_valid_day(date(2025, 12, 31)) == date(2025, 12, 31)
    assert expires == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)


def test_end_of_year_with_three_years() -> None:
    policy = ValidityPolicy(type="end_of_year", years=3)

    assert policy.last_valid_day(date(2024, 2, 29)) == date(2027, 12, 31)


def test_the_default_policy_is_end_of_next_year() -> None:
    policy = ValidityPolicy.from_config({})

    assert policy == ValidityPolicy(type="end_of_year", days=365, years=1)
    assert policy.last_valid_day(date(2025, 3, 1)) == date(2026, 12, 31)


def test_rolling_days_is_valid_that_many_days_after_the_earning_day() -> None:
    # given points valid 30 days
    policy = ValidityPolicy.from_config({"type": "rolling_days", "days": 30})

    # when they are earned on 1 March 2025 in Shanghai
    expires = policy.expires_at(datetime(2025, 3, 1, 9, 30, tzinfo=SHANGHAI), SHANGHAI)

    # then 31 March is the last day and they expire at local midnight after it
    assert policy.last_valid_day(date(2025, 3, 1)) == date(2025, 3, 31)
    assert expires == datetime(2025, 3, 31, 16, 0, tzinfo=UTC)


def test_rolling_days_expires_at_local_midnight_across_a_dst_change() -> None:
    # given a program in New York, where clocks go forward on 9 March 2025
    policy = ValidityPolicy(type="rolling_days", days=10)

    # when points are earned on 1 March (UTC-5)
    expires = policy.expires_at(datetime(2025, 3, 1, 12, 0, tzinfo=NEW_YORK), NEW_YORK)

    # then they expire at midnight starting 12 March, which is already UTC-4
    assert expires == datetime(2025, 3, 12, 4, 0, tzinfo=UTC)


def test_rolling_days_crosses_a_leap_day() -> None:
    policy = ValidityPolicy(type="rolling_days", days=1)

    assert policy.last_valid_day(date(2028, 2, 28)) == date(2028, 2, 29)


def test_expires_at_accepts_any_aware_earning_time() -> None:
    policy = ValidityPolicy(type="rolling_days", days=1)
    earned_at = datetime(2025, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-2)))

    # 23:30 at UTC-2 is 09:30 on 2 March in Shanghai
    assert policy.expires_at(earned_at, SHANGHAI) == datetime(2025, 3, 3, 16, 0, tzinfo=UTC)


def test_never_does_not_expire() -> None:
    policy = ValidityPolicy.from_config({"type": "never"})

    assert policy.last_valid_day(date(2025, 3, 1)) is None
    assert policy.expires_at(datetime(2025, 3, 1, tzinfo=SHANGHAI), SHANGHAI) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "monthly"}, "validity type must be one of never, rolling_days, end_of_year"),
        ({"type": None}, "validity type must be one of never, rolling_days, end_of_year"),
        ({"type": "rolling_days", "days": 0}, "days must be a whole number from 1 to 3650"),
        ({"type": "rolling_days", "days": -30}, "days must be a whole number from 1 to 3650"),
        ({"type": "rolling_days", "days": "30"}, "days must be a whole number from 1 to 3650"),
        ({"type": "rolling_days", "days": 30.0}, "days must be a whole number from 1 to 3650"),
        ({"type": "rolling_days", "days": None}, "days must be a whole number from 1 to 3650"),
        ({"type": "end_of_year", "years": 11}, "years must be a whole number from 0 to 10"),
        ({"type": "end_of_year", "years": -1}, "years must be a whole number from 0 to 10"),
        ({"type": "end_of_year", "years": "1"}, "years must be a whole number from 0 to 10"),
        ({"type": "end_of_year", "years": 1.5}, "years must be a whole number from 0 to 10"),
    ],
)
def test_bad_configs_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidityError) as refused:
        ValidityPolicy.from_config(config)

    assert str(refused.value) == message


@pytest.mark.parametrize("years", [0, 10])
def test_years_bounds_are_accepted(years: int) -> None:
    assert ValidityPolicy.from_config({"years": years}).years == years


# instants from 2000 to 2080, aware in UTC
earning_times = st.integers(
    min_value=int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()),
    max_value=int(datetime(2080, 12, 31, tzinfo=UTC).timestamp()),
).map(lambda seconds: datetime.fromtimestamp(seconds, UTC))


@given(
    earning_times,
    st.sampled_from([SHANGHAI, NEW_YORK, ZoneInfo("Europe/London"), UTC]),
    st.integers(min_value=0, max_value=10),
)
def test_end_of_year_expires_at_local_new_year_after_the_earning(
    earned_at: datetime, tz: ZoneInfo, years: int
) -> None:
    policy = ValidityPolicy(type="end_of_year", years=years)

    expires = policy.expires_at(earned_at, tz)

    assert expires is not None
    local = expires.astimezone(tz)
    assert (local.month, local.day, local.hour, local.minute) == (1, 1, 0, 0)
    assert local.year == earned_at.astimezone(tz).year + years + 1
    assert expires > earned_at


@given(
    earning_times,
    st.sampled_from([SHANGHAI, NEW_YORK, UTC]),
    st.integers(min_value=1, max_value=3650),
)
def test_rolling_days_expires_at_local_midnight_days_plus_one_after_earning(
    earned_at: datetime, tz: ZoneInfo, days: int
) -> None:
    policy = ValidityPolicy(type="rolling_days", days=days)

    expires = policy.expires_at(earned_at, tz)

    assert expires is not None
    local = expires.astimezone(tz)
    assert (local.hour, local.minute) == (0, 0)
    assert local.date() - earned_at.astimezone(tz).date() == timedelta(days=days + 1)
