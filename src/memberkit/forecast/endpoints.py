"""REST endpoints of foresight: fit on demand, the latest fit, a member's forecast."""

from __future__ import annotations

from fastapi import APIRouter

from memberkit.api.context import ChainAdminContext, MemberNo, ReadContext
from memberkit.errors import NotFound
from memberkit.forecast import queries, service
from memberkit.forecast.models import ForecastFit
from memberkit.forecast.schemas import (
    BgNbdOut,
    FitIn,
    FitOut,
    GammaGammaOut,
    MemberForecastOut,
)
from memberkit.kit.i18n import _
from memberkit.member import service as member_service

router = APIRouter(prefix="/api/v1/forecast", tags=["forecast"])
member_router = APIRouter(prefix="/api/v1/members/{member_no}", tags=["forecast"])


class NoFit(NotFound):
    """The program has never been fitted."""

    code = "no_forecast_fit"
    message = _("The program has no forecast fit yet: fit it first.")


class NoMemberForecast(NotFound):
    """The member has no forecast (no purchase before the latest fit)."""

    code = "no_member_forecast"
    message = _("Member {member_no} has no forecast: no purchase was seen by the latest fit.")


def fit_out(fit: ForecastFit) -> FitOut:
    """The API's view of a stored fit."""
    fitted = fit.status == "fitted"
    return FitOut(
        id=fit.id,
        status=fit.status,
        message=fit.message,
        fitted_at=fit.fitted_at,
        as_of=fit.as_of,
        members_used=fit.members_used,
        repeat_buyers=fit.repeat_buyers,
        bgnbd=BgNbdOut(r=fit.r, alpha=fit.alpha, a=fit.a, b=fit.b) if fitted else None,  # type: ignore[arg-type]
        gamma_gamma=GammaGammaOut(p=fit.p, q=fit.q, v=fit.v) if fitted else None,  # type: ignore[arg-type]
        diagnostics=fit.diagnostics,
    )


@router.post("/fit", response_model=FitOut)
def fit_now(body: FitIn, context: ChainAdminContext) -> FitOut:
    """Fit the model on the program's orders now and rewrite every member's forecast (admin).

    A fit the data cannot support (too few repeat buyers) is stored and returned with
    ``status`` ``failed`` and its reason in ``message``; it changes no member forecast.
    """
    with context.database.analytics_scope() as reader, context.transaction() as session:
        fit = service.fit(
            session,
            program=context.program,
            as_of=body.as_of,
            holdout_days=body.holdout_days,
            reader=reader,
        )
        return fit_out(fit)


@router.get("", response_model=FitOut)
def latest(context: ReadContext) -> FitOut:
    """Return the fit the member forecasts come from: parameters, date, members, diagnostics.

    That is the successful fit of the latest as-of day; before any, the latest attempt (failed,
    with its reason).
    """
    with context.transaction() as session:
        program_id = context.program.id
        fit = queries.latest_fitted(session, program_id=program_id) or queries.latest_fit(
            session, program_id=program_id
        )
        if fit is None:
            raise NoFit()
        return fit_out(fit)


@member_router.get("/forecast", response_model=MemberForecastOut)
def member_forecast(member_no: MemberNo, context: ReadContext) -> MemberForecastOut:
    """Return the member's churn risk, expected purchases (90 days) and value (12 months)."""
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        found = queries.member_forecast(session, program_id=context.program.id, member_id=member.id)
        if found is None:
            raise NoMemberForecast(member_no=member.member_no)
        alive = found.p_alive_ppm / 1_000_000
        return MemberForecastOut(
            member_no=member.member_no,
            fit_id=found.fit_id,
            p_alive=alive,
            churn_risk=round(1 - alive, 6),
            expected_purchases_90d=found.expected_purchases_90d_milli / 1000,
            expected_value_12m=found.expected_value_12m_minor,
            computed_at=found.computed_at,
        )
