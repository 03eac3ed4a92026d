"""``memberkit forecast fit`` and the weekly ``forecast-refit`` job, on a simulated history."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.kit.time import today
from memberkit.program.service import ProgramConfig
from tests.forecast.test_service import simulated_history

runner = CliRunner()


def counts(database: Database) -> tuple[int, int]:
    with database.session_scope(read_only=True) as session:
        fits = session.scalar(select(func.count()).select_from(ForecastFit)) or 0
        forecasts = session.scalar(select(func.count()).select_from(MemberForecast)) or 0
    return fits, forecasts


def test_forecast_fit_prints_the_parameters_and_the_holdout(
    database: Database, program: ProgramConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 120 members with simulated history
    with database.session_scope() as session:
        simulated_history(session, program, 120, seed=21)

    # when the operator fits as of 30 November, in English
    monkeypatch.setattr(settings, "default_locale", "en")
    result = runner.invoke(app, ["forecast", "fit", "--as-of", "2026-11-30"])

    # then the summary names the members and the holdout, and every member has a forecast
    assert result.exit_code == 0, result.output
    assert "Fitted as of 2026-11-30 on 120 members (108 repeat buyers)" in " ".join(
        result.output.split()
    )
    assert "Holdout (182 days, 120 members): 156 repeat purchases happened" in " ".join(
        result.output.split()
    )
    assert counts(database) == (1, 120)

    # and in Chinese, the operator's default, a second fit replaces the forecasts
    monkeypatch.setattr(settings, "default_locale", "zh_CN")
    again = runner.invoke(app, ["forecast", "fit", "--as-of", "2026-11-30"])
    assert "已按 2026-11-30 拟合，用了 120 位会员（108 位复购）" in again.output
    assert "验证期（182 天，120 位会员）：实际复购 156 次" in again.output
    assert counts(database) == (2, 120)


def test_forecast_fit_refuses_a_bad_date_or_program_and_changes_nothing(
    database: Database,
) -> None:
    bad_date = runner.invoke(app, ["forecast", "fit", "--as-of", "yesterday"])
    assert bad_date.exit_code == 2
    unknown = runner.invoke(app, ["forecast", "fit", "--program", "nope"])
    assert unknown.exit_code != 0
    assert counts(database) == (0, 0)


def test_a_fit_without_repeat_buyers_says_why_and_exits_1(
    database: Database, program: ProgramConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given no orders at all
    monkeypatch.setattr(settings, "default_locale", "en")

    # when the operator fits
    result = runner.invoke(app, ["forecast", "fit"])

    # then the failed fit is stored and said in words
    assert result.exit_code == 1
    assert "too few members bought again (0 members, 0 repeat buyers)" in " ".join(
        result.output.split()
    )
    assert counts(database) == (1, 0)


def test_the_weekly_job_refits_only_once_a_week_has_passed(
    database: Database, program: ProgramConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")
    # given a program fitted as of today by the job
    with database.session_scope() as session:
        simulated_history(session, program, 60, seed=22)
    first = runner.invoke(app, ["jobs", "forecast-refit"])
    assert first.exit_code == 0, first.output
    assert counts(database) == (1, 60)

    # when the daily run comes again the same day
    again = runner.invoke(app, ["jobs", "forecast-refit"])

    # then it says when the next refit is due and fits nothing
    assert again.exit_code == 0
    assert f"fitted as of {today(program.tz).isoformat()}" in again.output
    assert counts(database) == (1, 60)
