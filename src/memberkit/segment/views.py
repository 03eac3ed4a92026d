"""Console pages of segments: the list, the builder with its live count, a segment's page.

Each page calls the service the API calls (``/api/v1/segments``): the builder posts its
definition to ``/admin/segments/count`` while it is edited, which counts as ``POST
/api/v1/segments/count`` does and answers with the count, the first 20 members (masked unless
the staff member sees personal data) or the service's refusal naming where the rule is wrong.
Owners, admins and marketers change segments (``manage_segments``); whoever sees reports
reads them; store-bound roles count and list only their stores' members, as store-bound keys.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import _, translate
from memberkit.kit.money import display_money
from memberkit.segment import compiler, queries, rules, service
from memberkit.segment.endpoints import MAX_ID, SegmentId, brief
from memberkit.segment.models import Segment, SegmentKind
from memberkit.segment.schemas import SegmentIn
from memberkit.segment.tree import OP_NAMES, FieldType, Op

router = APIRouter(prefix="/admin/segments", include_in_schema=False)

ReadSegments = Annotated[StaffContext, Depends(require_action(Action.view_reports))]
ManageSegments = Annotated[StaffContext, Depends(require_action(Action.manage_segments))]

#: Members and history entries a segment's page shows at a time.
PAGE = 50
#: Bytes of an uploaded CSV read at most.
MAX_UPLOAD = 4_000_000
KIND_NAMES = {SegmentKind.rule: _("rule segment"), SegmentKind.static: _("static segment")}
CHANGE_NAMES = {"entered": _("entered"), "left": _("left")}
DONE = {
    "saved": _("The segment was saved."),
    "refreshed": _("The segment was refreshed."),
}


def _stores(staff: StaffContext) -> list[str] | None:
    scope = staff.actor.store_scope
    return None if scope is None else sorted(scope)


def _fields(locale: str) -> list[dict[str, Any]]:
    """The registry of fields as the builder offers them, labels and ops in ``locale``."""
    return [
        {
            "name": spec.name,
            "label": translate(spec.label, locale),
            "type": str(spec.type),
            "window": spec.window,
            "choices": list(spec.choices),
            "ops": [{"op": str(op), "label": translate(OP_NAMES[op], locale)} for op in spec.ops],
        }
        for spec in compiler.specs().values()
    ]


# --- the definition in words -----------------------------------------------------------------


def _value_words(value: Any, kind: FieldType) -> str:
    if isinstance(value, list):
        return ", ".join(_value_words(item, kind) for item in value)
    if kind is FieldType.money and isinstance(value, int):
        return display_money(value)
    return str(value)


def words(definition: Any, locale: str) -> list[Any]:
    """A (valid) definition as nested lines: ``("all"|"any", [items])`` and condition texts."""
    specs = compiler.specs()
    ((kind, items),) = definition.items()
    shown: list[Any] = []
    for item in items:
        if "all" in item or "any" in item:
            shown.append(words(item, locale))
            continue
        spec = specs[item["field"]]
        op = Op(item["op"])
        value = item.get("value")
        if op is Op.between:
            said = translate(
                _("{field} between {low} and {high}"),
                locale,
                field=translate(spec.label, locale),
                low=_value_words(value[0], spec.type),
                high=_value_words(value[1], spec.type),
            )
        else:
            said = translate(
                _("{field} {op} {value}"),
                locale,
                field=translate(spec.label, locale),
                op=translate(OP_NAMES[op], locale),
                value=_value_words(value, spec.type),
            )
        if spec.window:
            said += translate(_(" (in the last {days} days)"), locale, days=item.get("days"))
        shown.append(said)
    return [kind, shown]


# --- the list --------------------------------------------------------------------------------


@router.get("")
def segments_page(staff: ReadSegments) -> Response:
    """Every live segment: kind, members (of the viewer's stores if bound), last refresh."""
    stores = _stores(staff)
    with staff.work.transaction() as session:
        found = queries.listing(session, program_id=staff.program.id)
        rows = []
        for segment in found:
            count = segment.member_count
            if stores is not None:
                count, _page = queries.members(
                    session,
                    segment_id=segment.id,
                    program_id=staff.program.id,
                    stores=stores,
                    after=None,
                    limit=1,
                )
            rows.append((segment, count))
        session.expunge_all()
    return staff.render(
        "segment/list.html",
        rows=rows,
        kinds=KIND_NAMES,
        may_manage=staff.actor.may(Action.manage_segments),
        ready=rules.READY,
    )


# --- the builder -----------------------------------------------------------------------------


def _builder(
    staff: StaffContext,
    *,
    entered: dict[str, Any],
    segment: Segment | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return staff.render(
        "segment/builder.html",
        status_code=status_code,
        entered=entered,
        segment=segment,
        error=error,
        kinds=KIND_NAMES,
        fields_json=json.dumps(_fields(staff.locale), ensure_ascii=False),
    )


def _entered(form: FormData) -> dict[str, Any]:
    return {
        "name": str(form.get("name", "")).strip()[:200],
        "description": str(form.get("description", "")).strip()[:1000],
        "kind": str(form.get("kind", "rule"))[:16],
        "definition": str(form.get("definition", ""))[:100_000],
    }


class _BadJson(ValueError):
    pass


#: How deep a definition's JSON may nest (a rule nests far less, see ``tree.MAX_DEPTH``).
MAX_NESTING = 32


def _nesting(value: Any, depth: int = 0) -> int:
    """How deep ``value`` nests, counting no further than past :data:`MAX_NESTING`."""
    if depth > MAX_NESTING or not isinstance(value, dict | list):
        return depth
    items = value.values() if isinstance(value, dict) else value
    return max((_nesting(item, depth + 1) for item in items), default=depth + 1)


def _definition(raw: str) -> Any:
    """The definition posted as JSON text; unreadable or nested too deep is :class:`_BadJson`."""
    try:
        found = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        # Deep nesting ("[[[[…") exhausts the decoder's recursion: the same unreadable rule.
        raise _BadJson() from None
    if _nesting(found) > MAX_NESTING:
        raise _BadJson()
    return found


def _bad_json(staff: StaffContext) -> str:
    return translate(_("The rule could not be read; reload the page."), staff.locale)


@router.get("/new")
def new_segment_page(
    staff: ManageSegments, ready: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """The builder of a new segment, from the active members or a ready segment's rule.

    ``?ready=<key>`` copies that ready segment's name, description and rule in, to change
    and save as the marketer's own; an unknown key is the plain builder.
    """
    chosen = rules.BY_KEY.get(ready or "")
    if chosen is None:
        start = json.dumps({"all": [{"field": "status", "op": "eq", "value": "active"}]})
        blank = {"name": "", "description": "", "kind": "rule", "definition": start}
        return _builder(staff, entered=blank)
    entered = {
        "name": translate(chosen.name, staff.locale),
        "description": translate(chosen.description, staff.locale),
        "kind": "rule",
        "definition": json.dumps(chosen.definition),
    }
    return _builder(staff, entered=entered)


@router.post("/new")
async def create_segment(staff: ManageSegments) -> Response:
    """Define a segment as ``POST /api/v1/segments`` does; audited; a bad rule names where."""
    form = await staff.form()
    entered = _entered(form)
    try:
        definition = _definition(entered["definition"])
        if entered["kind"] != "rule":
            definition = None
        body = SegmentIn.model_validate(
            {
                "name": entered["name"],
                "description": entered["description"],
                "kind": entered["kind"],
                "definition": definition,
            }
        )
    except _BadJson:
        return _builder(staff, entered=entered, error=_bad_json(staff), status_code=422)
    except ValidationError:
        said = translate(
            _("Give the segment a name of 1 to 80 characters and a kind."), staff.locale
        )
        return _builder(staff, entered=entered, error=said, status_code=422)
    try:
        with staff.work.transaction() as session:
            segment = service.create(
                session,
                program=staff.program,
                name=body.name,
                kind=body.kind,
                definition=body.definition,
                description=body.description,
                actor=f"staff:{staff.actor.username}",
            )
            record(
                staff,
                session,
                action="segment.create",
                subject_type="segment",
                subject_id=segment.id,
                before=None,
                after=_audited(segment),
            )
            segment_id = segment.id
    except MemberkitError as exc:
        return _builder(
            staff, entered=entered, error=exc.detail(staff.locale), status_code=exc.status
        )
    return RedirectResponse(f"/admin/segments/{segment_id}?done=saved", status_code=303)


def _audited(segment: Segment) -> dict[str, Any]:
    return {
        "name": segment.name,
        "description": segment.description,
        "kind": str(segment.kind),
        "definition": segment.definition,
    }


@router.post("/count")
async def count_definition(staff: ReadSegments) -> Response:
    """Count a definition being edited, as ``POST /api/v1/segments/count`` does (JSON)."""
    form = await staff.form()
    try:
        definition = _definition(str(form.get("definition", ""))[:100_000])
    except _BadJson:
        return JSONResponse({"error": _bad_json(staff)}, status_code=422)
    unmasked = staff.actor.sees_personal_data
    try:
        with staff.database.session_scope(read_only=True) as session:
            found = service.count(
                session, program=staff.program, definition=definition, stores=_stores(staff)
            )
            preview = [
                brief(staff.program, row, unmasked=unmasked).model_dump(mode="json")
                for row in found.preview
            ]
    except MemberkitError as exc:
        return JSONResponse(
            {"code": exc.code, "error": exc.detail(staff.locale)}, status_code=exc.status
        )
    return JSONResponse({"count": found.total, "preview": preview})


@router.get("/{segment_id}/edit")
def edit_segment_page(staff: ManageSegments, segment_id: SegmentId) -> Response:
    """The builder of a saved segment, its definition loaded."""
    with staff.work.transaction() as session:
        segment = service.get(session, program=staff.program, segment_id=segment_id)
        session.expunge(segment)
    entered = {
        "name": segment.name,
        "description": segment.description,
        "kind": str(segment.kind),
        "definition": json.dumps(segment.definition) if segment.definition else "",
    }
    return _builder(staff, entered=entered, segment=segment)


@router.post("/{segment_id}/edit")
async def change_segment(staff: ManageSegments, segment_id: SegmentId) -> Response:
    """Rename or redefine a segment as ``PATCH /api/v1/segments/{id}`` does; audited."""
    form = await staff.form()
    entered = _entered(form)
    with staff.work.transaction() as session:
        shown = service.get(session, program=staff.program, segment_id=segment_id)
        session.expunge(shown)
    entered["kind"] = str(shown.kind)
    name_ok = 1 <= len(entered["name"]) <= 80 and len(entered["description"]) <= 500
    try:
        definition = _definition(entered["definition"]) if shown.kind == "rule" else None
    except _BadJson:
        return _builder(
            staff, entered=entered, segment=shown, error=_bad_json(staff), status_code=422
        )
    if not name_ok:
        said = translate(
            _("Give the segment a name of 1 to 80 characters and a kind."), staff.locale
        )
        return _builder(staff, entered=entered, segment=shown, error=said, status_code=422)
    try:
        with staff.work.transaction() as session:
            before = _audited(service.get(session, program=staff.program, segment_id=segment_id))
            segment = service.update(
                session,
                program=staff.program,
                segment_id=segment_id,
                name=entered["name"],
                description=entered["description"],
                definition=definition,
            )
            after = _audited(segment)
            if after != before:
                record(
                    staff,
                    session,
                    action="segment.update",
                    subject_type="segment",
                    subject_id=segment_id,
                    before=before,
                    after=after,
                )
    except MemberkitError as exc:
        return _builder(
            staff,
            entered=entered,
            segment=shown,
            error=exc.detail(staff.locale),
            status_code=exc.status,
        )
    return RedirectResponse(f"/admin/segments/{segment_id}?done=saved", status_code=303)


# --- a segment's page ------------------------------------------------------------------------


def _segment_page(
    staff: StaffContext,
    segment_id: int,
    *,
    after: int | None = None,
    before: int | None = None,
    done: str | None = None,
    error: str | None = None,
    upload: service.Upload | None = None,
    status_code: int = 200,
) -> Response:
    stores = _stores(staff)
    unmasked = staff.actor.sees_personal_data
    with staff.work.transaction() as session:
        segment = service.get(session, program=staff.program, segment_id=segment_id)
        total, members = queries.members(
            session,
            segment_id=segment.id,
            program_id=staff.program.id,
            stores=stores,
            after=after,
            limit=PAGE,
        )
        history = queries.history(
            session,
            segment_id=segment.id,
            program_id=staff.program.id,
            stores=stores,
            before=before,
            limit=PAGE,
        )
        shown = [brief(staff.program, row, unmasked=unmasked) for row in members.items]
        session.expunge(segment)
    return staff.render(
        "segment/segment.html",
        status_code=status_code,
        segment=segment,
        said=words(segment.definition, staff.locale) if segment.definition else None,
        total=total,
        members=shown,
        next_after=members.next_after,
        history=history.items,
        next_before=history.next_after,
        kinds=KIND_NAMES,
        changes=CHANGE_NAMES,
        done=done,
        error=error,
        upload=upload,
        may_manage=staff.actor.may(Action.manage_segments),
    )


@router.get("/{segment_id}")
def segment_page(
    staff: ReadSegments,
    segment_id: SegmentId,
    after: int | None = None,
    before: int | None = None,
    done: str | None = None,
) -> Response:
    """A segment: its rule in words, its members (paginated, masked), its history."""
    said = DONE.get(done or "")
    return _segment_page(
        staff,
        segment_id,
        after=after if after is not None and 0 <= after <= MAX_ID else None,
        before=before if before is not None and 1 <= before <= MAX_ID else None,
        done=translate(said, staff.locale) if said else None,
    )


@router.post("/{segment_id}/refresh")
async def refresh_segment(staff: ManageSegments, segment_id: SegmentId) -> Response:
    """Refresh a segment's members in full now, as the API's refresh does."""
    await staff.form()
    with staff.work.transaction() as session:
        segment = service.get(session, program=staff.program, segment_id=segment_id)
        service.refresh(session, program=staff.program, segment=segment)
    return RedirectResponse(f"/admin/segments/{segment_id}?done=refreshed", status_code=303)


@router.post("/{segment_id}/delete")
async def delete_segment(staff: ManageSegments, segment_id: SegmentId) -> Response:
    """Archive a segment once confirmed: its members leave (kept in its history); audited."""
    form = await staff.form()
    if form.get("confirm") != "yes":
        said = translate(_("Tick the box to confirm the deletion."), staff.locale)
        return _segment_page(staff, segment_id, error=said, status_code=422)
    with staff.work.transaction() as session:
        before = _audited(service.get(session, program=staff.program, segment_id=segment_id))
        service.archive(session, program=staff.program, segment_id=segment_id)
        record(
            staff,
            session,
            action="segment.delete",
            subject_type="segment",
            subject_id=segment_id,
            before=before,
            after=None,
        )
    return RedirectResponse("/admin/segments", status_code=303)


async def _lines(form: FormData) -> list[str]:
    """The first cell of each row of an uploaded CSV (UTF-8, a BOM allowed) or of the box."""
    upload = form.get("members_file")
    text = ""
    if isinstance(upload, UploadFile):
        raw = await upload.read(MAX_UPLOAD + 1)
        text = raw[:MAX_UPLOAD].decode("utf-8-sig", errors="replace")
    if not text.strip():
        text = str(form.get("members", ""))[:MAX_UPLOAD]
    rows = csv.reader(io.StringIO(text.replace("\0", "")))
    lines = [row[0].strip() for row in rows if row and row[0].strip()]
    if lines and lines[0] in ("卡号", "手机号"):
        lines = lines[1:]
    return lines


@router.post("/{segment_id}/upload")
async def upload_members(staff: ManageSegments, segment_id: SegmentId) -> Response:
    """Add members to a static segment from a CSV of card numbers or phones; lists unknown."""
    form = await staff.form()
    lines = await _lines(form)
    try:
        with staff.work.transaction() as session:
            upload = service.add_listed(
                session, program=staff.program, segment_id=segment_id, lines=lines
            )
            if upload.added:
                record(
                    staff,
                    session,
                    action="segment.upload",
                    subject_type="segment",
                    subject_id=segment_id,
                    before=None,
                    after={"added": upload.added, "unknown": len(upload.unknown)},
                )
    except MemberkitError as exc:
        if exc.status == 404:
            raise
        return _segment_page(
            staff, segment_id, error=exc.detail(staff.locale), status_code=exc.status
        )
    said = translate(
        _("{added} members added, {unknown} lines named no member."),
        staff.locale,
        added=upload.added,
        unknown=len(upload.unknown),
    )
    return _segment_page(staff, segment_id, done=said, upload=upload)
