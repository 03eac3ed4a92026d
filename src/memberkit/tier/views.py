"""The tier's console pages: its part of the member page, and the thresholds page.

The member page's part: tier, progress, history, and a grant. The thresholds page: the
simulator first (:func:`memberkit.tier.simulate.simulate`, as ``POST /api/v1/tiers/simulate``
answers it: members by growth value and, for proposed thresholds, how many would move up or
down), then saving the simulated growth thresholds through
:func:`memberkit.program.service.change` (the ladder's own checks apply), audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, may_do
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit import keys
from memberkit.kit.i18n import _, translate
from memberkit.kit.time import utcnow
from memberkit.ledger.repository import member_balances
from memberkit.member.models import Member
from memberkit.member.panels import Panel, Seen, register
from memberkit.member.views import Viewer, act, field_errors, page, read_form
from memberkit.program import views as program_views
from memberkit.tier import rules, service
from memberkit.tier.rules import progress
from memberkit.tier.schemas import GrantIn
from memberkit.tier.settings import LADDER
from memberkit.tier.simulate import Proposal, Simulation, simulate

router = APIRouter(prefix="/admin/members", include_in_schema=False)


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's tier, progress to the next one (the facts tiers judge on), history."""
    ladder = seen.program.ladder
    member = seen.member
    growth = member_balances(session, member_id=member.id).get("growth", 0)
    facts = service.facts(
        session,
        ladder=ladder,
        member_id=member.id,
        growth=growth,
        at=utcnow(),
        tz=seen.program.tz,
        history=service.counts_history(seen.program),
    )
    return {
        "tier": ladder.tier(member.tier_code),
        "since": member.tier_since,
        "review_at": member.tier_review_at,
        "progress": progress(ladder, member.tier_code, facts),
        "growth": growth,
        "history": service.history(session, member_id=member.id, limit=20) if seen.in_scope else [],
        "names": {tier.code: tier.name for tier in ladder.tiers},
        "tiers": [(tier.code, tier.name) for tier in ladder.tiers],
    }


register(Panel("tier", "tier/panel.html", _load, order=10))


@router.post("/{member_no}/tier")
async def grant_tier(staff: Viewer, member_no: str) -> Response:
    """Grant a tier by hand until a date (owners, admins, marketers; audited, once per key)."""
    form = await read_form(staff)
    try:
        body = GrantIn.model_validate(
            {
                "tier": form.get("tier", ""),
                "until": form.get("until", "").strip(),
                "reason": form.get("reason", ""),
                "allow_down": form.get("allow_down") == "yes",
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix="grant")
        return page(staff, member_no[:20], errors=errors, status_code=422)

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        before = member.tier_code
        reached = service.grant_tier(
            session,
            program=staff.program,
            member_no=member.member_no,
            tier_code=body.tier,
            last_day=body.until,
            note=body.reason,
            actor=f"staff:{staff.actor.username}",
            key=keys.grant(member.member_no, form["key"]),
            now=utcnow(),
            allow_down=body.allow_down,
        )
        after = {"tier": reached.code, "until": body.until.isoformat(), "reason": body.reason}
        return {"tier": before}, after, {"tier": reached.code}

    return act(staff, member_no, action=Action.grant_tier, name="tier", form=form, change=change)


# --- the tier thresholds page and its simulator ----------------------------------------

#: The tier thresholds page (the simulator first, then saving what was simulated).
thresholds_router = APIRouter(prefix="/admin/tiers", include_in_schema=False)

ViewSettings = Annotated[StaffContext, Depends(require_action(Action.view_settings))]
EditSettings = Annotated[StaffContext, Depends(require_action(Action.edit_settings))]
#: The largest threshold a form takes (as the simulate endpoint).
MAX_THRESHOLD = 10**12


def _thresholds(raw: list[str], levels: int) -> tuple[list[int] | None, dict[int, str]]:
    """Read the proposed thresholds; by position, which could not be read."""
    errors: dict[int, str] = {}
    values: list[int] = []
    for index in range(levels):
        text = raw[index].strip() if index < len(raw) else ""
        if not text.isascii() or not text.isdigit() or len(text) > 13:
            errors[index] = _("Enter a whole number from 0.")
            continue
        number = int(text)
        if number > MAX_THRESHOLD:
            errors[index] = _("Enter a whole number from 0.")
            continue
        values.append(number)
    return (values if not errors else None), errors


def _page(
    staff: StaffContext,
    *,
    entered: list[str],
    simulation: Simulation | None,
    errors: dict[int, str],
    refusal: MemberkitError | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    """The page; a ``refusal`` is shown above the form, with its status."""
    ladder = staff.program.ladder
    histogram = simulation.growth_histogram if simulation else []
    chart = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 20, "top": 20, "bottom": 40},
        "xAxis": {
            "type": "category",
            "data": [f"{b.low}+" if b.high is None else f"{b.low}–{b.high - 1}" for b in histogram],
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"type": "bar", "data": [b.members for b in histogram]}],
    }
    return staff.render(
        "tier/tiers.html",
        status_code=refusal.status if refusal else status_code,
        tiers=ladder.tiers,
        entered=entered,
        simulation=simulation,
        errors={index: translate(message, staff.locale) for index, message in errors.items()},
        error=refusal.detail(staff.locale) if refusal else None,
        saved=saved,
        chart=chart,
        may_edit=may_do(staff, Action.edit_settings),
    )


@thresholds_router.get("")
def tiers_page(
    staff: ViewSettings,
    growth: Annotated[list[str] | None, Query(max_length=20)] = None,
    saved: bool = False,
) -> Response:
    """The tiers and their growth thresholds; with proposed ones, the simulation of them."""
    current = rules.growth_thresholds(staff.program.raw_ladder)
    levels = len(staff.program.ladder.tiers) - 1
    if growth is None:
        entered = ["" if value is None else str(value) for value in current]
        return _page(staff, entered=entered, simulation=None, errors={}, saved=saved)
    entered = [text[:20] for text in growth[:levels]]
    values, errors = _thresholds(entered, levels)
    if values is None:
        return _page(staff, entered=entered, simulation=None, errors=errors, status_code=422)
    try:
        with staff.work.transaction() as session:
            result = simulate(
                session,
                program_id=staff.program.id,
                ladder=staff.program.ladder,
                history=service.counts_history(staff.program),
                proposal=Proposal(values),
                now=utcnow(),
            )
    except MemberkitError as exc:
        return _page(staff, entered=entered, simulation=None, errors={}, refusal=exc)
    return _page(staff, entered=entered, simulation=result, errors={})


@thresholds_router.post("")
async def save_thresholds(staff: EditSettings) -> Response:
    """Save simulated growth thresholds into the ladder; audited, before and after."""
    form = await staff.form()
    levels = len(staff.program.ladder.tiers) - 1
    entered = [str(item)[:20] for item in form.getlist("growth")][:levels]
    values, errors = _thresholds(entered, levels)
    if values is None:
        return _page(staff, entered=entered, simulation=None, errors=errors, status_code=422)
    try:
        program_views.save(
            staff, LADDER, lambda before: rules.with_growth_thresholds(before, values)
        )
    except MemberkitError as exc:
        return _page(staff, entered=entered, simulation=None, errors={}, refusal=exc)
    return RedirectResponse("/admin/tiers?saved=true", status_code=303)
