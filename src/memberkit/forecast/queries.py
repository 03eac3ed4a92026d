"""Reads for foresight: each member's purchase days summarised from the orders, in SQL."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.kit.sql import local_day
from memberkit.order.models import Order


@dataclass(frozen=True)
class Summaries:
    """Per member (aligned arrays), days counted in the program's timezone from the epoch.

    ``days`` is the number of distinct purchase days up to the as-of day, ``cal_days`` those up to
    the calibration end, ``first``/``last``/``last_cal`` the first, last and last calibration
    purchase day, ``value`` the net spend of all days and ``first_value`` that of the first day.
    """

    member_id: NDArray[np.int64]
    first: NDArray[np.float64]
    last: NDArray[np.float64]
    last_cal: NDArray[np.float64]
    days: NDArray[np.float64]
    cal_days: NDArray[np.float64]
    value: NDArray[np.float64]
    first_value: NDArray[np.float64]


def _local_day(session: Session, offset_seconds: int) -> ColumnElement[int]:
    """The order's calendar day (days since 1970-01-01) at a fixed UTC offset."""
    return local_day(session, Order.occurred_at, offset_seconds)


def member_summaries(
    session: Session, *, program_id: int, until_day: int, offset_seconds: int, cal_end_day: int
) -> Summaries:
    """Summarise the members' orders up to local day ``until_day`` (inclusive).

    Orders without a member are left out; live and imported history alike count. An order's
    value is ``total_minor - refunded_minor``; a fully refunded order is no purchase. Purchases on
    one day are one purchase day (the literature's counting). Grouped in the database: one row
    per member comes back.
    """
    day = _local_day(session, offset_seconds).label("day")
    net = Order.total_minor - Order.refunded_minor
    per_day = (
        select(Order.member_id.label("member_id"), day, func.sum(net).label("value"))
        .where(
            Order.program_id == program_id,
            Order.member_id.is_not(None),
            net > 0,
        )
        .group_by(Order.member_id, day)
        .subquery()
    )
    ranked = (
        select(
            per_day.c.member_id,
            per_day.c.day,
            per_day.c.value,
            func.row_number()
            .over(partition_by=per_day.c.member_id, order_by=per_day.c.day)
            .label("n"),
        )
        .where(per_day.c.day <= until_day)
        .subquery()
    )
    in_cal = ranked.c.day <= cal_end_day
    rows = session.execute(
        select(
            ranked.c.member_id,
            func.min(ranked.c.day),
            func.max(ranked.c.day),
            func.max(case((in_cal, ranked.c.day))),
            func.count(),
            func.count(case((in_cal, 1))),
            func.sum(ranked.c.value),
            func.sum(case((ranked.c.n == 1, ranked.c.value), else_=0)),
        )
        .group_by(ranked.c.member_id)
        .order_by(ranked.c.member_id)
    ).all()
    table = np.array(
        [[-1 if v is None else v for v in row] for row in rows], dtype=np.float64
    ).reshape(-1, 8)
    return Summaries(
        member_id=table[:, 0].astype(np.int64),
        first=table[:, 1],
        last=table[:, 2],
        last_cal=table[:, 3],
        days=table[:, 4],
        cal_days=table[:, 5],
        value=table[:, 6],
        first_value=table[:, 7],
    )


def latest_fit(session: Session, *, program_id: int) -> ForecastFit | None:
    """The program's most recent fit, failed or not."""
    return session.scalars(
        select(ForecastFit)
        .where(ForecastFit.program_id == program_id)
        .order_by(ForecastFit.fitted_at.desc(), ForecastFit.id.desc())
        .limit(1)
    ).first()


def latest_fitted(session: Session, *, program_id: int) -> ForecastFit | None:
    """The successful fit the member forecasts come from: the latest as of, then fitted.

    A fit as of an earlier day than that one (a back-test) is kept as a diagnostic and
    replaces no member's forecast (:func:`memberkit.forecast.service.fit`).
    """
    return session.scalars(
        select(ForecastFit)
        .where(ForecastFit.program_id == program_id, ForecastFit.status == "fitted")
        .order_by(ForecastFit.as_of.desc(), ForecastFit.fitted_at.desc(), ForecastFit.id.desc())
        .limit(1)
    ).first()


def member_forecast(session: Session, *, program_id: int, member_id: int) -> MemberForecast | None:
    """A member's current forecast, if a fit has written one."""
    return session.scalars(
        select(MemberForecast).where(
            MemberForecast.program_id == program_id, MemberForecast.member_id == member_id
        )
    ).first()


def churn_risk_histogram(session: Session, *, program_id: int, bins: int = 10) -> list[int]:
    """How many members' churn risk (1 − P(alive)) falls in each tenth, lowest first."""
    width = 1_000_000 // bins
    bucket = cast((1_000_000 - MemberForecast.p_alive_ppm) / width, Integer).label("bucket")
    counts = [0] * bins
    for n, count in session.execute(
        select(bucket, func.count()).where(MemberForecast.program_id == program_id).group_by(bucket)
    ):
        counts[min(int(n), bins - 1)] += int(count)
    return counts
