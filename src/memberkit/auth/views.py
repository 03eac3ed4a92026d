"""Console page of the API keys: list, issue (the key shown once), revoke (owners and admins).

Issuing runs once per form (an idempotency key carried in it): a double submit issues one
key, and the repeat says the key was already shown rather than showing it again (only its
hash is stored; the idempotency record keeps its prefix, never the key). Every change is
audited.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.auth import service
from memberkit.auth.schemas import ApiKeyIn
from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.kit.schemas import CONTROL_CHARACTERS, CONTROL_FIELD_MESSAGE
from memberkit.store import service as store_service

router = APIRouter(prefix="/admin/api-keys", include_in_schema=False)

ManageKeys = Annotated[StaffContext, Depends(require_action(Action.manage_api_keys))]
#: What each field of the form takes, said when the key schema refuses it.
FIELD_PROBLEMS: dict[str, str] = {
    "name": _("1 to 100 characters."),
    "scope": _("Choose admin, pos or read."),
    "store_code": _("Choose one of the stores, or none."),
}


def _page(
    staff: StaffContext,
    *,
    issued: str | None = None,
    repeated: str | None = None,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    with staff.work.transaction() as session:
        keys = service.list_keys(session, program_id=staff.program.id)
        _total, stores = store_service.listing(
            session, program_id=staff.program.id, city=None, active=True, offset=0, limit=500
        )
    return staff.render(
        "auth/api_keys.html",
        status_code=status_code,
        keys=keys,
        stores=stores,
        scopes=list(service.GRANTS),
        issued=issued,
        repeated=repeated,
        entered=entered or {"name": "", "scope": "pos", "store_code": ""},
        errors=errors or {},
        error=error,
        done=done,
        form_key=uuid.uuid4().hex,
    )


@router.get("")
def keys_page(staff: ManageKeys, done: bool = False) -> Response:
    """Every key of the program (prefix, name, scope, store), revoked ones too; a new key."""
    return _page(staff, done=done)


@router.post("")
async def issue_key(staff: ManageKeys) -> Response:
    """Issue a key and show it this once; audited (its prefix, never the key)."""
    form = await staff.form()
    entered = {name: str(form.get(name, ""))[:200] for name in ("name", "scope", "store_code")}
    form_key = str(form.get("form_key", ""))[:64]
    try:
        body = ApiKeyIn.model_validate({**entered, "store_code": entered["store_code"] or None})
    except ValidationError as exc:
        errors = {
            str(e["loc"][0]): translate(
                CONTROL_FIELD_MESSAGE
                if e["type"] == CONTROL_CHARACTERS
                else FIELD_PROBLEMS.get(str(e["loc"][0]), ""),
                staff.locale,
            )
            for e in exc.errors()
            if e["loc"]
        }
        return _page(staff, entered=entered, errors=errors, status_code=422)
    shown: dict[str, str] = {}

    def issue(session: Session) -> dict[str, Any]:
        key = service.create(
            session,
            program_id=staff.program.id,
            name=body.name,
            scope=body.scope,
            store_code=body.store_code,
        )
        info = service.describe(session, key=key)
        after = {
            "prefix": info.prefix,
            "name": info.name,
            "scope": info.scope,
            "store_code": info.store_code,
        }
        record(
            staff,
            session,
            action="apikey.create",
            subject_type="api_key",
            subject_id=info.id,
            before=None,
            after=after,
        )
        shown["key"] = key
        return after

    try:
        outcome = staff.work.once(
            key=f"console-api-key:{form_key}", request=body.model_dump(mode="json"), action=issue
        )
    except MemberkitError as exc:
        field = "store_code" if exc.code.startswith("store_") else None
        message = exc.detail(staff.locale)
        return _page(
            staff,
            entered=entered,
            errors={field: message} if field else {},
            error=None if field else message,
            status_code=exc.status,
        )
    if not outcome.created:
        return _page(staff, repeated=str(outcome.body["prefix"]))
    return _page(staff, issued=shown["key"], status_code=201)


@router.post("/{ref}/revoke")
async def revoke_key(ref: str, staff: ManageKeys) -> Response:
    """Revoke a key by its prefix; every process refuses it from the next request. Audited."""
    await staff.form()  # the CSRF check; the form holds nothing else
    try:
        with staff.work.transaction() as session:
            before = service.list_keys(session, program_id=staff.program.id)
            info = service.revoke(session, program_id=staff.program.id, ref=ref[:20])
            was = next(key for key in before if key.id == info.id)
            if was.revoked_at is None:
                record(
                    staff,
                    session,
                    action="apikey.revoke",
                    subject_type="api_key",
                    subject_id=info.id,
                    before={"prefix": info.prefix, "name": info.name, "revoked": False},
                    after={"prefix": info.prefix, "name": info.name, "revoked": True},
                )
    except MemberkitError as exc:
        return _page(staff, error=exc.detail(staff.locale), status_code=exc.status)
    return RedirectResponse("/admin/api-keys?done=true", status_code=303)
