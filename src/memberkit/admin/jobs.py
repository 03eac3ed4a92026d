"""Console page of the daily jobs: each job's dry run first, then a confirmed run.

The jobs are :data:`memberkit.tasks.TASKS`, as the scheduler and ``memberkit jobs`` run
them, for the staff member's program and as of now. A dry run rolls back everything it did
and shows what the job would do; only then is the button to run it for real shown. A real
run is audited with what it said.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from memberkit.errors import NotFound
from memberkit.faces.pages import record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _
from memberkit.kit.tasks import Task
from memberkit.kit.time import utcnow
from memberkit.staff.rules import Action
from memberkit.tasks import TASKS

router = APIRouter(prefix="/admin/jobs", include_in_schema=False)

RunJobs = Annotated[StaffContext, Depends(require_action(Action.run_jobs))]

#: What each job is called on the page (the CLI's help is English only).
TITLES: dict[str, str] = {
    "expire-points": _("Expire points"),
    "decay-growth": _("Decay growth"),
    "review-tiers": _("Review tiers"),
    "birthday-coupons": _("Give birthday coupons"),
    "purge-idempotency": _("Purge old idempotency keys"),
    "purge-sessions": _("Purge ended staff sessions"),
    "purge-outbox": _("Purge the delivered outbox"),
    "forecast-refit": _("Refit the forecast"),
    "refresh-rfm": _("Refresh RFM and lifecycle"),
}


class UnknownJob(NotFound):
    """A job the registry does not have."""

    code = "unknown_job"
    message = _("There is no job called {job}.")


def _task(name: str) -> Task:
    for task in TASKS:
        if task.name == name:
            return task
    raise UnknownJob(job=name[:64])


def _page(
    staff: StaffContext,
    *,
    task: Task | None = None,
    said: list[str] | None = None,
    ran: bool = False,
) -> Response:
    return staff.render(
        "admin/jobs.html",
        tasks=[(t, TITLES.get(t.name, t.label or t.name), _idle(staff, t)) for t in TASKS],
        chosen=task,
        chosen_title=TITLES.get(task.name, task.label or task.name) if task else "",
        said=said or [],
        ran=ran,
    )


def _idle(staff: StaffContext, task: Task) -> str | None:
    idle = task.idle(staff.program)
    return idle.translate(staff.locale) if idle is not None else None


@router.get("")
def jobs_page(staff: RunJobs) -> Response:
    """Every daily job, each with a dry-run button."""
    return _page(staff)


@router.post("/{name}")
async def run_job(name: str, staff: RunJobs) -> Response:
    """Dry-run a job (what it would do, nothing kept), or run it once confirmed; audited."""
    task = _task(name)
    form = await staff.form()
    confirmed = form.get("confirmed") == "yes"
    if _idle(staff, task) is not None:
        return _page(staff, task=task, said=[], ran=False)
    outcome = task.run(
        staff.database, program=staff.program, as_of=utcnow(), dry_run=not confirmed, progress=None
    )
    said = [sentence.translate(staff.locale) for sentence in outcome.said]
    if confirmed:
        with staff.work.transaction() as session:
            record(
                staff,
                session,
                action="job.run",
                subject_type="job",
                subject_id=task.name,
                before=None,
                after={"said": [str(sentence) for sentence in outcome.said]},
            )
    return _page(staff, task=task, said=said, ran=confirmed)
