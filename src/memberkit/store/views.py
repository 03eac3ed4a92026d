"""Console pages of the stores: list, create, edit, close and reopen (owners and admins).

Each form calls the store service as the store API does, and every change is audited with
the store before and after.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.kit.schemas import CONTROL_CHARACTERS, CONTROL_FIELD_MESSAGE
from memberkit.store import service
from memberkit.store.models import Store, StoreType
from memberkit.store.schemas import StoreIn

router = APIRouter(prefix="/admin/stores", include_in_schema=False)

ManageStores = Annotated[StaffContext, Depends(require_action(Action.manage_stores))]

#: What is wrong with a field the store schema refuses, in words for the page.
FIELD_PROBLEMS: dict[str, str] = {
    "code": _("1 to 32 letters, digits, or _ . -"),
    "name": _("1 to 100 characters."),
    "type": _("Choose direct or franchise."),
    "city": _("At most 50 characters."),
}
TYPES: dict[str, str] = {StoreType.direct: _("direct"), StoreType.franchise: _("franchise")}


def _shown(store: Store) -> dict[str, Any]:
    """A store as the audit log keeps it."""
    return {
        "code": store.code,
        "name": store.name,
        "type": str(store.type),
        "city": store.city,
        "active": store.active,
    }


def _entered(form: Any) -> dict[str, str]:
    return {key: str(form.get(key, ""))[:500] for key in ("code", "name", "type", "city")}


def _checked(staff: StaffContext, entered: dict[str, str]) -> tuple[StoreIn | None, dict[str, str]]:
    """The form as the store API would read it; by field, what it refuses."""
    try:
        return StoreIn.model_validate({**entered, "type": entered["type"] or "direct"}), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "code"
            problem = (
                CONTROL_FIELD_MESSAGE
                if error["type"] == CONTROL_CHARACTERS
                else FIELD_PROBLEMS.get(name, _("Check this field."))
            )
            errors[name] = translate(problem, staff.locale)
        return None, errors


def _list(
    staff: StaffContext,
    *,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    with staff.work.transaction() as session:
        _total, stores = service.listing(
            session, program_id=staff.program.id, city=None, active=None, offset=0, limit=500
        )
    return staff.render(
        "store/stores.html",
        status_code=status_code,
        stores=stores,
        types=TYPES,
        entered=entered or {"code": "", "name": "", "type": "direct", "city": ""},
        errors=errors or {},
        error=error,
        done=done,
    )


@router.get("")
def stores_page(staff: ManageStores, done: bool = False) -> Response:
    """Every store, open and closed, by code; the form to open a new one."""
    return _list(staff, done=done)


@router.post("")
async def create_store(staff: ManageStores) -> Response:
    """Open a new store (the same store sent twice makes it once); audited."""
    form = await staff.form()
    entered = _entered(form)
    checked, errors = _checked(staff, entered)
    if checked is None:
        return _list(staff, entered=entered, errors=errors, status_code=422)
    try:
        with staff.work.transaction() as session:
            store, created = service.create(
                session,
                program_id=staff.program.id,
                code=checked.code,
                name=checked.name,
                type=checked.type,
                city=checked.city,
            )
            if created:
                record(
                    staff,
                    session,
                    action="store.create",
                    subject_type="store",
                    subject_id=store.code,
                    before=None,
                    after=_shown(store),
                )
    except MemberkitError as exc:
        return _list(
            staff,
            entered=entered,
            error=exc.detail(staff.locale),
            status_code=exc.status,
        )
    return RedirectResponse("/admin/stores?done=true", status_code=303)


@router.get("/{code}")
def store_page(code: str, staff: ManageStores) -> Response:
    """One store's form: name, type and city; and closing or reopening it."""
    with staff.work.transaction() as session:
        store = service.get(session, program_id=staff.program.id, code=code[:32])
        entered = {"code": store.code, "name": store.name, "type": store.type, "city": store.city}
        active = store.active
    return _edit(staff, entered=entered, active=active)


def _edit(
    staff: StaffContext,
    *,
    entered: dict[str, str],
    active: bool,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return staff.render(
        "store/store.html",
        status_code=status_code,
        entered=entered,
        active=active,
        types=TYPES,
        errors=errors or {},
        error=error,
    )


@router.post("/{code}")
async def change_store(code: str, staff: ManageStores) -> Response:
    """Change a store's name, type or city; audited with the store before and after."""
    form = await staff.form()
    entered = {**_entered(form), "code": code[:32]}
    with staff.work.transaction() as session:
        active = service.get(session, program_id=staff.program.id, code=code[:32]).active
    checked, errors = _checked(staff, entered)
    if checked is None:
        return _edit(staff, entered=entered, active=active, errors=errors, status_code=422)
    with staff.work.transaction() as session:
        before = _shown(service.get(session, program_id=staff.program.id, code=checked.code))
        store = service.change(
            session,
            program_id=staff.program.id,
            code=checked.code,
            name=checked.name,
            type=checked.type,
            city=checked.city,
        )
        _audit(session, staff, "store.update", before, _shown(store))
    return RedirectResponse("/admin/stores?done=true", status_code=303)


def _audit(
    session: Any, staff: StaffContext, action: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    if after != before:
        record(
            staff,
            session,
            action=action,
            subject_type="store",
            subject_id=after["code"],
            before=before,
            after=after,
        )


@router.post("/{code}/active")
async def open_or_close_store(code: str, staff: ManageStores) -> Response:
    """Close a store (``active=no``) or reopen it (``active=yes``); audited."""
    form = await staff.form()
    active = form.get("active") == "yes"
    with staff.work.transaction() as session:
        before = _shown(service.get(session, program_id=staff.program.id, code=code[:32]))
        store = service.set_active(
            session, program_id=staff.program.id, code=code[:32], active=active
        )
        _audit(session, staff, "store.open" if active else "store.close", before, _shown(store))
    return RedirectResponse("/admin/stores?done=true", 303)
