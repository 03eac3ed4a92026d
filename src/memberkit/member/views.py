"""The console's member pages: the list (search, filters, CSV) and one member's page.

The list is narrowed to the viewer's stores (store-bound roles see members registered at
their stores), paged by keyset, exported as a streamed CSV. A member's page shows what the
REST endpoints show (profile, points and lots, the ledger timeline) and the panels higher
domains register (:mod:`memberkit.member.panels`: tier, wallet, orders). Its forms call the
services the API calls, once per key rendered into the form, and are audited.

Store scope (staff/rules.py ``STORE_SCOPED``): viewing members is scoped, identifying them is
not. A store-bound role opening another store's member by card number therefore sees what the
till shows on identification (masked profile, tier, balances) and none of their history, and
may change nothing of theirs.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.errors import Forbidden, MemberkitError
from memberkit.faces import pages
from memberkit.faces.pages import Action
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit import keys
from memberkit.kit.i18n import _, translate
from memberkit.kit.schemas import CONTROL_CHARACTERS, CONTROL_FIELD_MESSAGE
from memberkit.kit.time import start_of_local_day, utcnow
from memberkit.ledger import adjustments
from memberkit.ledger import queries as ledger_queries
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import Asset
from memberkit.ledger.schemas import AdjustmentIn
from memberkit.member import queries, service
from memberkit.member.models import Member, MemberStatus
from memberkit.member.panels import Seen, panels
from memberkit.member.rules import mask_personal, normalize_phone, valid_member_no
from memberkit.member.schemas import MemberPatch
from memberkit.store import queries as store_queries
from memberkit.uow import Outcome

router = APIRouter(prefix="/admin/members", include_in_schema=False)
Viewer = Annotated[StaffContext, Depends(require_action(Action.view_members))]
#: How far ahead the page sums the points that expire.
EXPIRING_DAYS = 30
#: Lines of the ledger timeline shown on the page.
TIMELINE = 50
#: Points lots listed on the page, soonest expiry first (the rest are summed in one line).
LOTS_SHOWN = 20
#: A form's key: what the page renders into it so a double submit posts once.
_FORM_KEY = re.compile(r"^[0-9a-f]{32}$")
#: The CSV export's columns (personal ones masked unless the viewer may see them).
STATUS_NAMES = {
    MemberStatus.active: _("active"),
    MemberStatus.frozen: _("frozen"),
    MemberStatus.closed: _("closed"),
}
GENDER_NAMES = (("male", _("male")), ("female", _("female")), ("unknown", _("unknown")))
#: What the page says after each form's change.
DONE = {
    "points": _("The points were adjusted."),
    "status": _("The membership's status was changed."),
    "profile": _("The profile was saved."),
    "tier": _("The tier was granted."),
    "qr": _("A new QR token was issued."),
    "wallet-refund": _("The stored value was paid back."),
    "coupon-revoke": _("The coupon was revoked."),
}
CSV_COLUMNS = ("member_no", "phone", "name", "status", "tier", "store", "tags", "registered_at")


def new_form_key() -> str:
    """A fresh key for one rendering of a form."""
    return secrets.token_hex(16)


class _Refused(Exception):
    """A form's fields are wrong: the messages by field, already in the viewer's language."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def field_errors(exc: ValidationError, locale: str, *, prefix: str) -> dict[str, str]:
    """Say each field's fault of a refused form in the viewer's language (first per field)."""
    messages = {
        "missing": _("This field is required."),
        "string_too_short": _("This field is required."),
        "string_too_long": _("This is too long."),
        "too_long": _("Too many entries."),
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "greater_than_equal": _("This number is out of range."),
        "less_than_equal": _("This number is out of range."),
        "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_parsing": _("Enter a date as YYYY-MM-DD."),
        "enum": _("Choose one of the options."),
        "literal_error": _("Choose one of the options."),
        CONTROL_CHARACTERS: CONTROL_FIELD_MESSAGE,
    }
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        message = messages.get(error["type"], _("This value is not valid."))
        errors.setdefault(f"{prefix}.{name}", translate(message, locale))
    return errors


# --- the list ------------------------------------------------------------------------------


def _text(value: str | None, limit: int = 100) -> str:
    return (value or "").strip()[:limit]


def _day(raw: str, name: str, errors: dict[str, str], locale: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = translate(_("Enter a date as YYYY-MM-DD."), locale)
        return None


def _filters(
    staff: StaffContext, asked: Mapping[str, str]
) -> tuple[queries.MemberFilter, dict[str, str]]:
    """Turn the list's query into a filter; a store outside the viewer's scope is refused."""
    q, tier, store, status = asked["q"], asked["tier"], asked["store"], asked["status"]
    since, until = asked["from"], asked["to"]
    errors: dict[str, str] = {}
    tz = staff.program.tz
    if store:
        # A store-bound role asking for another store's members (a tampered URL) is refused.
        staff.actor.require(Action.view_members, store_code=store)
    if status and status not in set(MemberStatus):
        errors["status"] = translate(_("Choose one of the options."), staff.locale)
    if tier and not staff.program.ladder.has(tier):
        errors["tier"] = translate(_("Choose one of the options."), staff.locale)
    first = _day(since, "from", errors, staff.locale)
    last = _day(until, "to", errors, staff.locale)
    phone = normalize_phone(q) if q else None
    words = bool(q) and phone is None and not valid_member_no(q)
    wanted = queries.MemberFilter(
        stores=staff.actor.store_scope,
        store_code=store or None,
        tier_code=tier if tier and "tier" not in errors else None,
        status=status if status and "status" not in errors else None,
        since=start_of_local_day(first, tz) if first else None,
        until=start_of_local_day(last + timedelta(days=1), tz) if last else None,
        phone_index=service.phone_index(phone) if phone else None,
        member_no=q if q and valid_member_no(q) else None,
        name_index=service.name_index(q) if words else None,
        tag=q if words else None,
    )
    return wanted, errors


def _shown(staff: StaffContext, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A member's fields as this viewer may see them: personal data masked unless allowed."""
    return dict(fields) if staff.actor.sees_personal_data else mask_personal(fields)


def _row(staff: StaffContext, row: queries.MemberRow) -> dict[str, Any]:
    member = row.member
    personal = service.personal(member)
    return _shown(
        staff,
        {
            "member_no": member.member_no,
            "phone": personal["phone"] or "",
            "name": personal["name"],
            "status": member.status,
            "tier": staff.program.ladder.tier(member.tier_code).name,
            "store": row.store_code,
            "tags": list(member.tags or []),
            "registered_at": member.created_at,
        },
    )


Q = Annotated[str, Query(max_length=100)]


def _asked(
    q: Q = "",
    tier: Q = "",
    store: Q = "",
    status: Q = "",
    since: Annotated[str, Query(alias="from", max_length=20)] = "",
    until: Annotated[str, Query(alias="to", max_length=20)] = "",
) -> dict[str, str]:
    """The list's query as asked, each value trimmed (the form shows them back)."""
    raw = {"q": q, "tier": tier, "store": store, "status": status, "from": since, "to": until}
    return {name: _text(value) for name, value in raw.items()}


Asked = Annotated[dict[str, str], Depends(_asked)]


@router.get("")
def member_list(
    staff: Viewer,
    asked: Asked,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """Members, newest first: searched by phone, card number, full name or tag, by keyset."""
    wanted, errors = _filters(staff, asked)
    with staff.work.transaction() as session:
        rows, next_before = (
            queries.listing(session, program_id=staff.program.id, wanted=wanted, before=before)
            if not errors
            else ([], None)
        )
        members = [_row(staff, row) for row in rows]
        stores = _stores(session, staff)
    return staff.render(
        "member/list.html",
        status_code=422 if errors else 200,
        members=members,
        next_before=next_before,
        asked=asked,
        errors=errors,
        stores=stores,
        tiers=[(tier.code, tier.name) for tier in staff.program.ladder.tiers],
        statuses=list(MemberStatus),
        status_names=STATUS_NAMES,
        query_string=_query(asked),
    )


def _query(asked: Mapping[str, str]) -> str:
    return urlencode({name: value for name, value in asked.items() if value})


def _stores(session: Session, staff: StaffContext) -> list[str]:
    """The stores the viewer may filter by (their own, for a store-bound role)."""
    scope = staff.actor.store_scope
    if scope is not None:
        return sorted(scope)
    _total, found = store_queries.listing(
        session, program_id=staff.program.id, city=None, active=None, offset=0, limit=1000
    )
    return [store.code for store in found]


@router.get(".csv")
def member_export(staff: Viewer, asked: Asked) -> Response:
    """The filtered list as CSV, streamed batch by batch (personal data masked per role)."""
    wanted, errors = _filters(staff, asked)
    if errors:
        return Response(
            "\n".join(f"{name}: {message}" for name, message in errors.items()),
            status_code=422,
            media_type="text/plain; charset=utf-8",
        )
    tz = staff.program.tz
    work = staff.work

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        # A byte-order mark, so spreadsheet programs read the file as UTF-8.
        writer.writerow(CSV_COLUMNS)
        yield "\ufeff" + _drain(buffer)
        with work.transaction() as session:
            for row in queries.exported(session, program_id=staff.program.id, wanted=wanted):
                shown = _row(staff, row)
                writer.writerow(
                    [
                        shown["member_no"],
                        _cell(shown["phone"]),
                        _cell(shown["name"] or ""),
                        shown["status"],
                        _cell(shown["tier"]),
                        shown["store"] or "",
                        _cell(" ".join(shown["tags"])),
                        shown["registered_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    ]
                )
                yield _drain(buffer)

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="members.csv"',
            "Cache-Control": "no-store",  # members' data: a shared till's browser keeps none
        },
    )


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# --- one member ----------------------------------------------------------------------------


def _open_member(
    staff: StaffContext, session: Session, member_no: str, *, lock: bool = False
) -> tuple[Member, str | None, bool]:
    """Load a member the viewer may open; tell their store and whether it is the viewer's.

    Another store's member opens for a store-bound role only if the role may identify
    members (as at the till); otherwise the refusal says which stores are theirs.
    """
    if not valid_member_no(member_no):
        raise service.MemberNotFound(identifier=member_no[:20])
    member = service.find(session, program_id=staff.program.id, member_no=member_no, lock=lock)
    store_code = (
        store_queries.code_of(session, store_id=member.store_id) if member.store_id else None
    )
    in_scope = staff.actor.may(Action.view_members, store_code=store_code)
    if not in_scope and not staff.actor.may(Action.identify_members):
        staff.actor.require(Action.view_members, store_code=store_code)
    return member, store_code, in_scope


def page(
    staff: StaffContext,
    member_no: str,
    *,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
    done: str | None = None,
    qr: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """Render a member's page (with a form's errors, a refusal or what was just done)."""
    now = utcnow()
    with staff.work.transaction() as session:
        member, store_code, in_scope = _open_member(staff, session, member_no)
        view = service.view(session, member)
        profile = _shown(
            staff,
            {
                "phone": view.phone,
                "name": view.name,
                "email": view.email,
                "birthday": view.birthday.isoformat() if view.birthday else None,
            },
        )
        points = ledger_queries.points(
            session, member_id=member.id, now=now, horizon=now + timedelta(days=EXPIRING_DAYS)
        )
        timeline: list[Any] = []
        if in_scope:
            _total, timeline = ledger_repository.statement(
                session,
                member_id=member.id,
                asset=Asset.points,
                kinds=None,
                since=None,
                until=None,
                offset=0,
                limit=TIMELINE,
            )
        seen = Seen(member, staff.program, staff.actor, in_scope, errors or {})
        shown_panels = [(panel.template, panel.load(session, seen)) for panel in panels()]
    actor = staff.actor
    may = {
        "adjust": in_scope and actor.may(Action.adjust_points, store_code=store_code),
        "freeze": in_scope and actor.may(Action.freeze_member, store_code=store_code),
        "edit": in_scope and actor.may(Action.edit_members, store_code=store_code),
        "grant": in_scope and actor.may(Action.grant_tier, store_code=store_code),
    }
    return staff.render(
        "member/detail.html",
        status_code=status_code,
        view=view,
        profile=profile,
        store_code=store_code,
        in_scope=in_scope,
        points=points,
        expiring_days=EXPIRING_DAYS,
        lots_shown=LOTS_SHOWN,
        timeline=timeline,
        panels=shown_panels,
        may=may,
        errors=errors or {},
        refusal=refusal,
        done=done,
        qr=qr,
        form_key=new_form_key(),
        sees_personal=actor.sees_personal_data,
        status_names=STATUS_NAMES,
        genders=GENDER_NAMES,
        done_messages=DONE,
    )


@router.get("/{member_no}")
def member_page(staff: Viewer, member_no: str, done: str | None = None) -> Response:
    """One member: profile, tier and progress, points and lots, wallet, orders, the ledger."""
    return page(staff, member_no[:20], done=done if done in DONE else None)


async def read_form(staff: StaffContext) -> dict[str, str]:
    """The posted form, CSRF checked, each value a bounded string."""
    form = await staff.form()
    return {name: str(value)[:2000] for name, value in form.items() if isinstance(value, str)}


def _form_key(form: Mapping[str, str], staff: StaffContext) -> str:
    key = form.get("key", "")
    if not _FORM_KEY.fullmatch(key):
        raise _Refused({"form": translate(_("The form is out of date; try again."), staff.locale)})
    return key


def act(
    staff: StaffContext,
    member_no: str,
    *,
    action: Action,
    name: str,
    form: Mapping[str, str],
    change: Any,
    finish: Callable[[Outcome], Response] | None = None,
) -> Response:
    """Run one form's change on a member once per form key, then show the member again.

    ``change(session, member)`` makes the change (the member locked, in the viewer's scope,
    the role checked) and returns the audit's before and after; one audit entry is written
    with them in the same transaction. Field errors are shown next to their fields, a
    service's refusal on the page; neither changes anything.
    """
    member_no = member_no[:20]
    try:
        key = _form_key(form, staff)
        request = {name: value for name, value in form.items() if name != "csrf_token"}

        def run(session: Session) -> dict[str, Any]:
            member, store_code, in_scope = _open_member(staff, session, member_no, lock=True)
            if not in_scope:
                staff.actor.require(Action.view_members, store_code=store_code)
            staff.actor.require(action, store_code=store_code)
            before, after, shown = change(session, member)
            pages.record(
                staff,
                session,
                action=f"member.{name}",
                subject_type="member",
                subject_id=member.member_no,
                before=before,
                after=after,
            )
            return shown

        outcome: Outcome = staff.work.once(
            key=keys.console(name, member_no, key), request=request, action=run, subject=member_no
        )
    except _Refused as refused:
        return page(staff, member_no, errors=refused.errors, status_code=422)
    except Forbidden:
        raise
    except MemberkitError as exc:
        if exc.status == 404:
            raise
        return page(staff, member_no, refusal=exc.detail(staff.locale), status_code=exc.status)
    if finish is not None:
        return finish(outcome)
    return RedirectResponse(f"/admin/members/{member_no}?done={name}", status_code=303)


@router.post("/{member_no}/points")
async def adjust_points(staff: Viewer, member_no: str) -> Response:
    """Credit or debit points by hand, with a reason (chain admins; audited, once per key)."""
    form = await read_form(staff)
    try:
        body = AdjustmentIn.model_validate(
            {"points": form.get("points", "").strip(), "reason": form.get("reason", "")}
        )
    except ValidationError as exc:
        return page(
            staff,
            member_no[:20],
            errors=field_errors(exc, staff.locale, prefix="adjust"),
            status_code=422,
        )

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        before = ledger_repository.live_points(session, member_id=member.id, as_of=utcnow())
        adjusted = adjustments.adjust_by_hand(
            session,
            program=staff.program,
            member_no=member.member_no,
            points=body.points,
            reason=body.reason,
            actor=f"staff:{staff.actor.username}",
            key=keys.adjustment(member.member_no, form["key"]),
            now=utcnow(),
        )
        after = {
            "points_balance": adjusted.points_balance,
            "points": body.points,
            "reason": body.reason,
        }
        return {"points_balance": before}, after, {"points_balance": adjusted.points_balance}

    return act(
        staff, member_no, action=Action.adjust_points, name="points", form=form, change=change
    )


@router.post("/{member_no}/status")
async def change_status(staff: Viewer, member_no: str) -> Response:
    """Freeze, unfreeze (back to active) or close a membership (chain admins; audited)."""
    form = await read_form(staff)
    wanted = form.get("status", "")
    if wanted not in set(MemberStatus):
        message = translate(_("Choose one of the options."), staff.locale)
        return page(staff, member_no[:20], errors={"status.status": message}, status_code=422)

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        before = member.status
        service.change(session, member=member, changes={"status": wanted})
        return {"status": before}, {"status": member.status}, {"status": member.status}

    return act(
        staff, member_no, action=Action.freeze_member, name="status", form=form, change=change
    )


def _profile_changes(form: Mapping[str, str], staff: StaffContext) -> dict[str, Any]:
    """The profile form as the API's patch, validated by the same schema."""
    raw: dict[str, Any] = {
        "tags": [tag for tag in re.split(r"[,，\s]+", form.get("tags", "")) if tag],
        "gender": form.get("gender", "").strip() or None,
        "birthday": form.get("birthday", "").strip() or None,
    }
    if staff.actor.sees_personal_data:
        # Masked values are not shown to other roles, so they cannot send them back.
        raw["phone"] = form.get("phone", "")
        raw["name"] = form.get("name", "").strip() or None
        raw["email"] = form.get("email", "").strip() or None
    else:
        raw.pop("birthday")
    try:
        patch = MemberPatch.model_validate(raw)
    except ValidationError as exc:
        raise _Refused(field_errors(exc, staff.locale, prefix="profile")) from None
    changes = patch.model_dump(exclude_unset=True)
    if "phone" in changes and normalize_phone(changes["phone"] or "") is None:
        message = translate(_("Enter a mainland China mobile number."), staff.locale)
        raise _Refused({"profile.phone": message})
    return changes


@router.post("/{member_no}/profile")
async def edit_profile(staff: Viewer, member_no: str) -> Response:
    """Change a member's profile and tags (personal fields: roles that see them; audited)."""
    form = await read_form(staff)
    try:
        changes = _profile_changes(form, staff)
    except _Refused as refused:
        return page(staff, member_no[:20], errors=refused.errors, status_code=422)

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        before = _snapshot(member)
        service.change(session, member=member, changes=changes)
        after = _snapshot(member)
        return before, after, {"changed": sorted(k for k in after if after[k] != before[k])}

    return act(
        staff, member_no, action=Action.edit_members, name="profile", form=form, change=change
    )


def _snapshot(member: Member) -> dict[str, Any]:
    """What the profile form changes, for the audit (personal data masked by the audit)."""
    return {**service.personal(member), "gender": member.gender, "tags": list(member.tags)}


@router.post("/{member_no}/qr")
async def rotate_qr(staff: Viewer, member_no: str) -> Response:
    """Issue a new card QR token; the old one stops working (audited, once per key).

    The token is shown once, on the answer to the first submit; a repeat of the form says
    when the token it issued expires, but not the token (it is kept nowhere).
    """
    form = await read_form(staff)
    issued: dict[str, str] = {}

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        token, expires_at = service.rotate_qr(session, member=member)
        issued["token"] = token
        # The token is a credential: neither audited nor kept with the stored response.
        return None, {"qr_expires_at": expires_at}, {"expires_at": expires_at.isoformat()}

    def shown(outcome: Outcome) -> Response:
        qr = {
            "token": issued.get("token"),
            "expires_at": datetime.fromisoformat(outcome.body["expires_at"]),
        }
        return page(staff, member_no[:20], done="qr", qr=qr)

    return act(
        staff,
        member_no,
        action=Action.edit_members,
        name="qr",
        form=form,
        change=change,
        finish=shown,
    )
