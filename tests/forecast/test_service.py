"""Fitting on a program's orders: the member summaries the SQL builds (days in the program's
timezone, one purchase per day, refunds netted), the fit and its diagnostics stored, each member's
forecast written from the stored parameters, and a refused fit that changes no forecast."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.forecast import queries, rules
from memberkit.forecast import service as forecast_service
from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from tests.factories import make_member

AS_OF = date(2026, 11, 30)
EPOCH = date(1970, 1, 1)
_ids = itertools.count(1)


def at(day: date, hour_utc: int = 4) -> datetime:
    """Noon in Shanghai of ``day`` (04:00 UTC) unless told otherwise."""
    return datetime(day.year, day.month, day.day, hour_utc, tzinfo=UTC)


def orders(
    session: Session, program: ProgramConfig, member: Member, *sales: tuple[datetime, int, int]
) -> None:
    """Orders as history brings them: (when, total, refunded) each."""
    session.execute(
        insert(Order),
        [
            {
                "program_id": program.id,
                "external_id": f"H-{next(_ids)}",
                "member_id": member.id,
                "channel": "store",
                "occurred_at": when,
                "total_minor": total,
                "eligible_minor": total,
                "refunded_minor": refunded,
            }
            for when, total, refunded in sales
        ],
    )


def day_no(day: date) -> int:
    return (day - EPOCH).days


def test_summaries_count_days_net_refunds_and_use_the_local_calendar(
    session: Session, program: ProgramConfig
) -> None:
    # given a member who bought twice on 1 June (once late at night, Shanghai time), on 11 June,
    # on 1 July (fully refunded) and on 2 July (half refunded); and a member who bought once
    june1 = date(2026, 6, 1)
    a = make_member(session, program)
    b = make_member(session, program)
    orders(
        session,
        program,
        a,
        (at(june1), 1000, 0),
        (at(june1, hour_utc=15), 500, 0),  # 23:00 in Shanghai: still 1 June
        (at(date(2026, 6, 11)), 3000, 0),
        (at(date(2026, 7, 1)), 9000, 9000),
        (at(date(2026, 7, 2)), 4000, 2000),
        (at(date(2026, 12, 1)), 7000, 0),  # after the as-of day: not seen
    )
    orders(session, program, b, (at(date(2026, 6, 20)), 800, 0))
    session.flush()

    # when they are summarised up to 30 November with the calibration ending 30 June
    s = queries.member_summaries(
        session,
        program_id=program.id,
        until_day=day_no(AS_OF),
        offset_seconds=8 * 3600,
        cal_end_day=day_no(date(2026, 6, 30)),
    )

    # then a has three purchase days (1 June's two orders one day, 1 July's refunded one none)
    assert s.member_id.tolist() == [a.id, b.id]
    assert s.days.tolist() == [3, 1]
    assert s.cal_days.tolist() == [2, 1]
    assert (s.first - day_no(june1)).tolist() == [0, 19]
    assert (s.last - day_no(june1)).tolist() == [31, 19]
    assert (s.last_cal - day_no(june1)).tolist() == [10, 19]
    assert s.value.tolist() == [1500 + 3000 + 2000, 800]
    assert s.first_value.tolist() == [1500, 800]

    # and the model's inputs follow: x = 2 repeat days, t_x = 31, T = 182, mean repeat spend 2500
    data = forecast_service._prepare(s, until_day=day_no(AS_OF))
    assert data.x.tolist() == [2, 0]
    assert data.t_x.tolist() == [31, 0]
    assert data.T.tolist() == [182, 163]
    assert data.monetary.tolist() == [2500.0, 0.0]


def simulated_history(session: Session, program: ProgramConfig, n: int, seed: int) -> list[Member]:
    """``n`` members whose purchase days follow BG/NBD over up to two years before AS_OF."""
    rng = np.random.default_rng(seed)
    truth = rules.BgNbdParams(r=0.8, alpha=40.0, a=0.8, b=3.0)
    members = []
    rows: list[dict[str, Any]] = []
    for _ in range(n):
        member = make_member(session, program)
        members.append(member)
        start = AS_OF - timedelta(days=int(rng.integers(200, 730)))
        rate = rng.gamma(truth.r, 1 / truth.alpha)
        drop = rng.beta(truth.a, truth.b)
        days = [0.0]
        span = (AS_OF - start).days
        while (nxt := days[-1] + rng.exponential(1 / rate)) <= span:
            days.append(nxt)
            if rng.random() < drop:  # the member drops out right after a purchase
                break
        for d in days:
            rows.append(
                {
                    "program_id": program.id,
                    "external_id": f"S-{next(_ids)}",
                    "member_id": member.id,
                    "channel": "store",
                    "occurred_at": at(start + timedelta(days=int(d))),
                    "total_minor": int(rng.gamma(4.0, 1500.0)) + 1,
                    "eligible_minor": 0,
                    "refunded_minor": 0,
                }
            )
    session.execute(insert(Order), rows)
    session.flush()
    return members


def test_fit_stores_parameters_diagnostics_and_every_members_forecast(
    database: Database, program: ProgramConfig
) -> None:
    # given 400 members with two years of simulated history
    with database.session_scope() as session:
        members = simulated_history(session, program, 400, seed=5)

    # when the program is fitted as of 30 November
    with database.session_scope() as session:
        fit = forecast_service.fit(session, program=program, as_of=AS_OF)
        fit_id = fit.id

    with database.session_scope() as session:
        fit = session.get(ForecastFit, fit_id)
        assert fit is not None
        # then the fit is stored with six positive parameters and the members it used
        assert fit.status == "fitted" and fit.message == ""
        assert fit.members_used == 400 and fit.as_of == AS_OF
        assert all(
            v is not None and v > 0 for v in (fit.r, fit.alpha, fit.a, fit.b, fit.p, fit.q, fit.v)
        )
        # and the holdout diagnostics compare the last 26 weeks, bar by bar 0..7+
        holdout = fit.diagnostics["holdout"]
        assert holdout["holdout_days"] == 182 and holdout["status"] == "fitted"
        assert [row["repeat"] for row in holdout["by_repeat"]] == list(range(8))
        assert sum(row["members"] for row in holdout["by_repeat"]) == holdout["members"]
        assert holdout["predicted_total"] == pytest.approx(holdout["actual_total"], rel=0.35)

        # and every member has a forecast computed from the stored parameters
        forecasts = {f.member_id: f for f in session.scalars(select(MemberForecast))}
        assert set(forecasts) == {m.id for m in members}
        assert {f.fit_id for f in forecasts.values()} == {fit_id}
        s = queries.member_summaries(
            session,
            program_id=program.id,
            until_day=day_no(AS_OF),
            offset_seconds=8 * 3600,
            cal_end_day=0,
        )
        data = forecast_service._prepare(s, until_day=day_no(AS_OF))
        bg = rules.BgNbdParams(fit.r, fit.alpha, fit.a, fit.b)  # type: ignore[arg-type]
        gg = rules.GammaGammaParams(fit.p, fit.q, fit.v)  # type: ignore[arg-type]
        i = int(np.flatnonzero(data.x >= 2)[0])
        member_id = int(data.member_id[i])
        one = (data.x[i : i + 1], data.t_x[i : i + 1], data.T[i : i + 1])
        alive = rules.p_alive(bg, *one)[0]
        soon = rules.expected_purchases(bg, 90, *one)[0]
        year = rules.expected_purchases(bg, 365, *one)[0]
        spend = (gg.p * (gg.v + data.x[i] * data.monetary[i])) / (gg.p * data.x[i] + gg.q - 1)
        got = forecasts[member_id]
        assert got.p_alive_ppm == rules.scaled(alive, 1_000_000)
        assert got.expected_purchases_90d_milli == rules.scaled(soon, 1000)
        assert got.expected_value_12m_minor == rules.minor_units(year * spend)
        # a member with no repeat purchase is surely alive (BG/NBD)
        j = int(np.flatnonzero(data.x == 0)[0])
        assert forecasts[int(data.member_id[j])].p_alive_ppm == 1_000_000
        assert queries.latest_fit(session, program_id=program.id) is not None
        assert sum(queries.churn_risk_histogram(session, program_id=program.id)) == 400


def test_a_refused_fit_is_stored_and_leaves_the_last_forecasts(
    database: Database, program: ProgramConfig
) -> None:
    # given a program fitted once
    with database.session_scope() as session:
        simulated_history(session, program, 120, seed=9)
    with database.session_scope() as session:
        first = forecast_service.fit(session, program=program, as_of=AS_OF).id
    with database.session_scope() as session:
        before = sorted(
            (f.member_id, f.fit_id, f.p_alive_ppm, f.expected_value_12m_minor)
            for f in session.scalars(select(MemberForecast))
        )

    # when it is fitted as of a day when no member had come back yet
    with database.session_scope() as session:
        early = min(o.occurred_at for o in session.scalars(select(Order))).date()
        refused = forecast_service.fit(session, program=program, as_of=early)
        refused_id = refused.id

    # then the failed fit says why, and the member forecasts are those of the first fit
    with database.session_scope() as session:
        failed = session.get(ForecastFit, refused_id)
        assert failed is not None
        assert (failed.status, failed.message, failed.r) == (
            "failed",
            "too_few_repeat_buyers",
            None,
        )
        assert failed.diagnostics["figures"]["repeat_buyers"] == 0
        after = sorted(
            (f.member_id, f.fit_id, f.p_alive_ppm, f.expected_value_12m_minor)
            for f in session.scalars(select(MemberForecast))
        )
        assert after == before and {row[1] for row in after} == {first}
        latest = queries.latest_fit(session, program_id=program.id)
        assert latest is not None and latest.id == refused_id


def test_a_refit_replaces_the_member_forecasts(database: Database, program: ProgramConfig) -> None:
    # given a program fitted as of 23 November
    with database.session_scope() as session:
        simulated_history(session, program, 120, seed=13)
    with database.session_scope() as session:
        forecast_service.fit(session, program=program, as_of=AS_OF - timedelta(days=7))

    # when it is fitted again a week later
    with database.session_scope() as session:
        second = forecast_service.fit(session, program=program, as_of=AS_OF).id

    # then each member has one forecast, from the second fit
    with database.session_scope() as session:
        rows = session.execute(select(MemberForecast.member_id, MemberForecast.fit_id)).all()
        assert len(rows) == 120 and {fit for _m, fit in rows} == {second}


def test_a_back_dated_fit_is_a_diagnostic_and_keeps_the_later_forecasts(
    database: Database, program: ProgramConfig
) -> None:
    # given a program fitted as of 30 November
    with database.session_scope() as session:
        simulated_history(session, program, 120, seed=13)
    with database.session_scope() as session:
        current = forecast_service.fit(session, program=program, as_of=AS_OF).id
    with database.session_scope() as session:
        before = sorted(session.execute(select(MemberForecast.member_id, MemberForecast.fit_id)))

    # when it is fitted as of two months before (a back-test)
    with database.session_scope() as session:
        back = forecast_service.fit(session, program=program, as_of=AS_OF - timedelta(days=60))
        back_id, status = back.id, back.status

    # then the back-test is stored with its diagnostics, and every forecast is the later fit's
    with database.session_scope() as session:
        assert status == "fitted"
        stored = session.get(ForecastFit, back_id)
        assert stored is not None and stored.diagnostics["member_forecasts"] == "kept"
        served = session.get(ForecastFit, current)
        assert served is not None and served.diagnostics["member_forecasts"] == "replaced"
        after = sorted(session.execute(select(MemberForecast.member_id, MemberForecast.fit_id)))
        assert after == before and {fit for _m, fit in after} == {current}
        # and the fit the forecasts come from is still the one as of 30 November
        serving = queries.latest_fitted(session, program_id=program.id)
        assert serving is not None and serving.id == current


def test_with_a_reader_the_fit_takes_the_write_transaction_only_to_store(
    database: Database, program: ProgramConfig
) -> None:
    # given 400 members with history, and a fit reading on the analytics connection
    with database.session_scope() as session:
        simulated_history(session, program, 400, seed=7)
    began: list[bool] = []

    # when it fits, noting at each stage whether the writing session has begun
    with database.analytics_scope() as reader, database.session_scope() as session:
        fit = forecast_service.fit(
            session,
            program=program,
            as_of=AS_OF,
            reader=reader,
            progress=lambda _done, _total: began.append(session.in_transaction()),
        )
        fit_id = fit.id

    # then the read and the fit ran before the write transaction began (no write lock held
    # while they ran: on SQLite it is taken at BEGIN), and the result was stored
    assert began[:2] == [False, False] and began[-1] is True
    with database.session_scope(read_only=True) as session:
        stored = session.get(ForecastFit, fit_id)
        assert stored is not None and stored.members_used == 400
        assert session.scalar(select(func.count()).select_from(MemberForecast)) == 400
