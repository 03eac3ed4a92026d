"""Console pages of the program's settings: one form per settings section, built from its schema.

Each section (``memberkit.sections.SECTIONS``) is shown as a form laid out from its JSON
Schema (:mod:`memberkit.faces.schemaform`), or as its JSON when asked (``?as=json``).
Saving calls :func:`memberkit.program.service.change`, as ``PUT /api/v1/settings/{section}``
does, and writes an audit entry with the section before and after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from memberkit.errors import MemberkitError
from memberkit.faces import schemaform
from memberkit.faces.pages import Action, may_do, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import Text, TextError, _, translate
from memberkit.kit.schemas import FreeInput
from memberkit.kit.sections import Section
from memberkit.program import service
from memberkit.sections import SECTIONS

router = APIRouter(prefix="/admin/settings", include_in_schema=False)

ViewSettings = Annotated[StaffContext, Depends(require_action(Action.view_settings))]
EditSettings = Annotated[StaffContext, Depends(require_action(Action.edit_settings))]

#: What each field is called on the page (the schema's titles are English only).
LABELS: dict[str, str] = {
    "points_per_unit": _("Points per currency unit"),
    "growth_per_unit": _("Growth per currency unit"),
    "rounding": _("Rounding"),
    "min_order_amount": _("Smallest order that earns (¥)"),
    "max_order_amount": _("Largest amount one order may have (¥)"),
    "excluded_categories": _("Categories that earn nothing"),
    "category_multipliers": _("Multipliers by category"),
    "store_multipliers": _("Multipliers by store"),
    "date_multipliers": _("Multipliers by date"),
    "type": _("Kind"),
    "days": _("Days"),
    "years": _("Years"),
    "period": _("Period"),
    "review": _("Review"),
    "notice_days": _("Notice days before a downgrade"),
    "refund_reverts_upgrade": _("A refund undoes the upgrade it paid for"),
    "tiers": _("Tiers"),
    "behaviours": _("Behaviours"),
    "spend_cap": _("Cap on growth from spending"),
    "decay": _("Decay"),
    "bonuses": _("Recharge bonuses"),
    "max_balance": _("Most a wallet may hold (¥)"),
    "refund_days": _("Days a recharge stays refundable"),
    "stopped_serving": _("The program has stopped serving (every recharge refundable)"),
    "undo_minutes": _("Minutes a verified benefit may be undone"),
    "backdate_days": _("Days a request may be dated back"),
    "cross_store_returns": _("Returns in another store"),
    "idempotency_retention_days": _("Days a repeated request is recognised"),
    "timezone": _("Timezone"),
}


def _section(name: str) -> Section[Any]:
    return service.section_named(name[:64])


def _page(
    staff: StaffContext,
    section: Section[Any],
    *,
    value: Any,
    as_json: bool,
    entered: dict[str, str] | None = None,
    field_errors: dict[str, Text] | None = None,
    error: str | None = None,
    raw: str | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    schema = section.schema()
    form = (
        None if as_json else schemaform.fields(schema, value, entered=entered, errors=field_errors)
    )
    return staff.render(
        "program/section.html",
        status_code=status_code,
        sections=SECTIONS,
        section=section,
        form=form,
        labels=LABELS,
        raw=raw if raw is not None else json.dumps(value, ensure_ascii=False, indent=2),
        error=error,
        saved=saved,
        may_edit=may_do(staff, Action.edit_settings),
        as_json=as_json or form is None,
        whole_json=form is None,
    )


@router.get("")
def settings_index(staff: ViewSettings) -> Response:
    """The settings sections, each with its title and a link to its form."""
    return staff.render("program/settings.html", sections=SECTIONS)


@router.get("/{name}")
def section_page(name: str, staff: ViewSettings, saved: bool = False, view: str = "") -> Response:
    """One section's form (``?view=json``: its JSON), showing the value in force."""
    section = _section(name)
    with staff.work.transaction() as session:
        value = service.by_id(session, staff.program.id).shown(section)
    return _page(staff, section, value=value, as_json=view == "json", saved=saved)


@router.post("/{name}")
async def save_section(name: str, staff: EditSettings) -> Response:
    """Save one section (from its form or its JSON); audited with the section before and after.

    A value the form cannot read, or the section refuses, is shown again with the reason next
    to the form, and nothing changes.
    """
    section = _section(name)
    form = await staff.form()
    entered = {key: item for key, item in form.items() if isinstance(item, str)}
    as_json = entered.get("mode") == "json"
    with staff.work.transaction() as session:
        current = service.by_id(session, staff.program.id).shown(section)
    field_errors: dict[str, Text] = {}
    raw = entered.get("raw", "")
    value: Any
    if as_json:
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            message = translate(_("This is not valid JSON: {error}"), staff.locale, error=str(exc))
            return _refused(staff, section, current, as_json, entered, field_errors, message, raw)
    else:
        value, field_errors = schemaform.read(section.schema(), entered, current)
        if field_errors:
            message = translate(_("Some fields need correcting."), staff.locale)
            return _refused(staff, section, current, as_json, entered, field_errors, message, raw)
    try:
        FreeInput.model_validate(value)
    except ValidationError as exc:
        cause = exc.errors()[0].get("ctx", {}).get("error")
        message = cause.text.translate(staff.locale) if isinstance(cause, TextError) else str(exc)
        return _refused(staff, section, current, as_json, entered, field_errors, message, raw)
    try:
        save(staff, section, lambda _before: value)
    except MemberkitError as exc:
        message = exc.detail(staff.locale)
        return _refused(
            staff, section, current, as_json, entered, field_errors, message, raw, exc.status
        )
    suffix = "&view=json" if as_json else ""
    return RedirectResponse(f"/admin/settings/{section.name}?saved=true{suffix}", status_code=303)


def save(staff: StaffContext, section: Section[Any], make: Callable[[Any], Any]) -> Any:
    """Store ``make(value in force)`` as ``section`` (:func:`service.change`), audited.

    Returns the section as stored; an entry with it before and after is written if it moved.
    """
    with staff.work.transaction() as session:
        before = service.by_id(session, staff.program.id).shown(section)
        try:
            value = make(before)
        except TextError as exc:
            raise service.InvalidProgramSettings(problem=exc.text) from exc
        config = service.change(
            session,
            program=staff.program,
            section=section,
            value=value,
            actor=f"staff:{staff.actor.username}",
        )
        after = config.shown(section)
        if after != before:
            record(
                staff,
                session,
                action="settings.change",
                subject_type="settings",
                subject_id=section.name,
                before=before,
                after=after,
            )
    return after


def _refused(
    staff: StaffContext,
    section: Section[Any],
    current: Any,
    as_json: bool,
    entered: dict[str, str],
    field_errors: dict[str, Text],
    message: str,
    raw: str,
    status_code: int = 422,
) -> Response:
    """The form again, as it was entered, with why it was refused."""
    return _page(
        staff,
        section,
        value=current,
        as_json=as_json,
        entered=None if as_json else entered,
        field_errors=field_errors,
        error=message,
        raw=raw if as_json else None,
        status_code=status_code,
    )
