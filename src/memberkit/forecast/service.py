"""Use cases of foresight: fit the model on a program's orders and write each member's forecast.

Time unit: **days** in the program's timezone. Purchases on one day count once. A fit is a
single unit of work: its row, its diagnostics and the member forecasts that replace the last
ones; a failed fit (too few repeat buyers) is stored with its reason and leaves the previous
member forecasts as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from memberkit.errors import InvalidInput
from memberkit.forecast import queries, repository, rules
from memberkit.forecast.models import FitStatus, ForecastFit
from memberkit.kit.i18n import _
from memberkit.kit.time import shown_in, today, utcnow
from memberkit.program.service import ProgramConfig

#: The holdout of the diagnostics: the classic 26 weeks (Fader-Hardie's calibration/holdout plot).
HOLDOUT_DAYS = 182
#: Horizons of the stored figures, in days.
PURCHASES_HORIZON = 90
VALUE_HORIZON = 365
_EPOCH = date(1970, 1, 1)
#: The stages ``progress`` counts: summaries read, model fitted, holdout compared, written.
STAGES = 4


class AsOfInFuture(InvalidInput):
    """A fit as of a day that has not come yet."""

    code = "as_of_in_future"
    message = _("A forecast cannot be fitted as of {as_of}: that day has not come yet.")


@dataclass(frozen=True)
class Prepared:
    """A program's summaries turned into the model's inputs (days) for the full period."""

    member_id: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    monetary: np.ndarray


def _prepare(s: queries.Summaries, *, until_day: int) -> Prepared:
    """x, t_x, T and the mean repeat spend from the summaries (full period up to as-of)."""
    x = s.days - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(x > 0, (s.value - s.first_value) / np.maximum(x, 1), 0.0)
    return Prepared(s.member_id, x, s.last - s.first, until_day - s.first, monetary)


def _holdout(s: queries.Summaries, *, cal_end: int, holdout_days: int) -> dict[str, Any]:
    """Fit on the calibration period, predict the holdout per member, compare with what happened."""
    cal = s.first <= cal_end
    x_cal = s.cal_days[cal] - 1
    t_x_cal = s.last_cal[cal] - s.first[cal]
    T_cal = cal_end - s.first[cal]
    actual = (s.days - s.cal_days)[cal]
    out: dict[str, Any] = {"holdout_days": holdout_days, "members": int(np.count_nonzero(cal))}
    try:
        fitted = rules.fit_bgnbd(x_cal, t_x_cal, T_cal)
    except rules.FitRefused as refused:
        out["status"] = FitStatus.failed.value
        out["message"] = refused.reason
        return out
    params = fitted.params
    assert isinstance(params, rules.BgNbdParams)
    predicted = rules.expected_purchases(params, holdout_days, x_cal, t_x_cal, T_cal)
    out.update(
        status=FitStatus.fitted.value,
        params={"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b},
        actual_total=int(actual.sum()),
        predicted_total=round(float(predicted.sum()), 3),
        by_repeat=[
            {
                "repeat": row.repeat,
                "members": row.members,
                "actual": round(row.actual, 4),
                "predicted": round(row.predicted, 4),
            }
            for row in rules.holdout_table(x_cal, actual, predicted)
        ],
    )
    return out


def fit(
    session: Session,
    *,
    program: ProgramConfig,
    as_of: date | None = None,
    holdout_days: int = HOLDOUT_DAYS,
    progress: Callable[[int, int], None] | None = None,
    refuse_future: bool = True,
    reader: Session | None = None,
) -> ForecastFit:
    """Fit BG/NBD + Gamma-Gamma on the program's orders up to ``as_of`` (inclusive, local day).

    ``reader``: the session the orders are read with — the analytics connection
    (:meth:`Database.analytics_scope`), so that neither the read nor the fit holds the write
    lock: ``session`` is first used to store the fit, after both. None: ``session`` reads.

    Stores the fit with its parameters and calibration/holdout diagnostics and replaces every
    member forecast of the program; a refused fit is stored as failed and changes no forecast,
    and so does a fit as of an earlier day than the fit the forecasts come from (a back-test,
    its diagnostics' ``member_forecasts`` "kept"; else "replaced").
    A day not yet come is refused unless ``refuse_future`` is off (the daily jobs, whose
    runner vets its own as-of moment). ``progress(done, 4)`` is called after each stage (read,
    fit, holdout, write). Never commits.
    """
    step = progress or (lambda _done, _total: None)
    tz = shown_in()
    if refuse_future and as_of is not None and as_of > today(tz):
        raise AsOfInFuture(as_of=as_of.isoformat())
    as_of = as_of or today(tz)
    offset = tz.utcoffset(datetime.combine(as_of, time(12)))
    offset_seconds = int(offset.total_seconds()) if offset is not None else 0
    until_day = (as_of - _EPOCH).days
    cal_end = until_day - holdout_days
    summaries = queries.member_summaries(
        reader or session,
        program_id=program.id,
        until_day=until_day,
        offset_seconds=offset_seconds,
        cal_end_day=cal_end,
    )
    data = _prepare(summaries, until_day=until_day)
    step(1, STAGES)
    row = ForecastFit(
        program_id=program.id,
        fitted_at=utcnow(),
        as_of=as_of,
        members_used=len(data.x),
        repeat_buyers=int(np.count_nonzero(data.x > 0)),
        diagnostics={},
    )
    try:
        bg = rules.fit_bgnbd(data.x, data.t_x, data.T)
        gg = rules.fit_gamma_gamma(data.x, data.monetary)
    except rules.FitRefused as refused:
        row.status = FitStatus.failed.value
        row.message = refused.reason
        row.diagnostics = {"figures": dict(refused.figures)}
        step(STAGES, STAGES)
        return repository.add_fit(session, row)
    step(2, STAGES)
    bgp, ggp = bg.params, gg.params
    assert isinstance(bgp, rules.BgNbdParams) and isinstance(ggp, rules.GammaGammaParams)
    row.status = FitStatus.fitted.value
    row.message = ""
    row.r, row.alpha, row.a, row.b = bgp.r, bgp.alpha, bgp.a, bgp.b
    row.p, row.q, row.v = ggp.p, ggp.q, ggp.v
    row.diagnostics = {
        "log_likelihood": round(bg.log_likelihood, 4),
        "distinct_rows": bg.distinct_rows,
        "evaluations": bg.evaluations + gg.evaluations,
        "holdout": _holdout(summaries, cal_end=cal_end, holdout_days=holdout_days),
    }
    serving = queries.latest_fitted(session, program_id=program.id)
    if serving is not None and as_of < serving.as_of:
        # a back-test: kept with its diagnostics; the forecasts stay those of the later fit
        row.diagnostics["member_forecasts"] = "kept"
        step(STAGES, STAGES)
        return repository.add_fit(session, row)
    row.diagnostics["member_forecasts"] = "replaced"
    repository.add_fit(session, row)
    step(3, STAGES)
    alive = rules.p_alive(bgp, data.x, data.t_x, data.T)
    soon = rules.expected_purchases(bgp, PURCHASES_HORIZON, data.x, data.t_x, data.T)
    year = rules.expected_purchases(bgp, VALUE_HORIZON, data.x, data.t_x, data.T)
    repeat = data.monetary[data.x > 0]
    spend = rules.expected_spend(
        ggp, data.x, data.monetary, fallback=float(repeat.mean()) if repeat.size else 0.0
    )
    computed_at = utcnow()
    alive_ppm = rules.scaled_array(alive, 1_000_000).tolist()
    soon_milli = rules.scaled_array(soon, 1000).tolist()
    value_minor = rules.scaled_array(year * spend, 1).tolist()
    repository.replace_member_forecasts(
        session,
        program_id=program.id,
        rows=(
            (
                program.id,
                member_id,
                row.id,
                alive_ppm[i],
                soon_milli[i],
                value_minor[i],
                computed_at,
            )
            for i, member_id in enumerate(data.member_id.tolist())
        ),
    )
    step(STAGES, STAGES)
    return row
