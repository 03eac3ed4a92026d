"""Foresight's job: refit each program's model weekly, on the program's calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from memberkit.db import Database
from memberkit.forecast import queries, rules, service
from memberkit.forecast.models import FitStatus, ForecastFit
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.kit.time import shown_in
from memberkit.program.service import ProgramConfig

#: A program is refitted once its latest successful fit is this old (or it has none).
REFIT_EVERY = timedelta(days=7)


def said(fit: ForecastFit) -> Text:
    """The sentence that says what a fit did (the job's and the CLI's)."""
    if fit.status == FitStatus.failed.value:
        return Text(
            _("No fit as of {as_of}: {reason} ({members} members, {repeat} repeat buyers)."),
            as_of=fit.as_of.isoformat(),
            reason=Text(rules.REASONS.get(fit.message, fit.message)),
            members=fit.members_used,
            repeat=fit.repeat_buyers,
        )
    return Text(
        _(
            "Fitted as of {as_of} on {members} members ({repeat} repeat buyers): "
            "r={r:.3f} α={alpha:.2f} a={a:.3f} b={b:.3f}; p={p:.2f} q={q:.2f} v={v:.1f}."
        ),
        as_of=fit.as_of.isoformat(),
        members=fit.members_used,
        repeat=fit.repeat_buyers,
        r=fit.r,
        alpha=fit.alpha,
        a=fit.a,
        b=fit.b,
        p=fit.p,
        q=fit.q,
        v=fit.v,
    )


def refit(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool,
    progress: Progress | None,
) -> Outcome:
    """Refit the program when its latest successful fit is a week old or more (else say so)."""
    day = as_of.astimezone(shown_in()).date()
    with database.session_scope(read_only=True) as session:
        last = queries.latest_fitted(session, program_id=program.id)
    if last is not None and day - last.as_of < REFIT_EVERY:
        return Outcome(
            (
                Text(
                    _("The model was fitted as of {as_of}; the next refit is due on {due}."),
                    as_of=last.as_of.isoformat(),
                    due=(last.as_of + REFIT_EVERY).isoformat(),
                ),
            )
        )
    with database.analytics_scope() as reader, database.session_scope(rollback=dry_run) as session:
        # The jobs' runner vets its as-of moment (the CLI refuses a day after today).
        fit = service.fit(
            session,
            program=program,
            as_of=day,
            progress=progress,
            refuse_future=False,
            reader=reader,
        )
        sentence = said(fit)
    return Outcome((sentence,))


REFIT_FORECAST = Task(
    name="forecast-refit",
    help="Refit churn risk and lifetime value (BG/NBD + Gamma-Gamma) when a week has passed.",
    run=refit,
    label=_("Refitting the forecast"),
    as_of_help="Fit on the orders up to this local date (YYYY-MM-DD); default today.",
)
