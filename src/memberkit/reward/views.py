"""Pages of the points catalog: the console's rewards and redemptions, the till's pickup step.

Each form calls the catalog service as the API does (``POST``/``PATCH /api/v1/rewards``,
``…/redemptions/{id}/fulfil`` and ``…/cancel``), pickups and cancellations once per key
through :meth:`memberkit.uow.Work.once` under the API's keys; the service audits every change.
A store-bound role lists what was redeemed or picked up at its stores, picks up at the store
it works for, and cancels only what was redeemed at its stores.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from memberkit.benefit.rules import Period
from memberkit.errors import MemberkitError
from memberkit.faces.pages import Action, may_do
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit import keys
from memberkit.kit.i18n import _, translate
from memberkit.kit.money import format_money
from memberkit.kit.schemas import CONTROL_CHARACTERS, CONTROL_FIELD_MESSAGE
from memberkit.member import service as member_service
from memberkit.member.rules import valid_member_no
from memberkit.reward import service
from memberkit.reward.models import Reward
from memberkit.reward.queries import RedemptionRow
from memberkit.reward.rules import STATUS_NAMES, RedemptionStatus, RewardKind
from memberkit.reward.schemas import RewardIn
from memberkit.store import service as store_service

router = APIRouter(include_in_schema=False)

ViewRewards = Annotated[StaffContext, Depends(require_action(Action.view_settings))]
EditRewards = Annotated[StaffContext, Depends(require_action(Action.edit_settings))]
ViewRedemptions = Annotated[StaffContext, Depends(require_action(Action.view_orders))]
Till = Annotated[StaffContext, Depends(require_action(Action.identify_members))]

#: What each kind and limit period is called on the pages.
KIND_NAMES = {
    RewardKind.goods: _("goods"),
    RewardKind.service: _("service"),
    RewardKind.coupon: _("coupons"),
}
#: The kinds the console's form defines; a coupon reward (naming its template) is defined
#: through the API for now.
FORM_KINDS = (RewardKind.goods, RewardKind.service)
PERIOD_NAMES = {
    Period.day: _("a day"),
    Period.week: _("a week"),
    Period.month: _("a month"),
    Period.quarter: _("a quarter"),
    Period.year: _("a year"),
    Period.once: _("in all"),
}
#: What is wrong with a field the reward schema refuses, in words for the page.
FIELD_PROBLEMS: dict[str, str] = {
    "code": _("1 to 32 lower-case letters, digits or _"),
    "name": _("1 to 50 characters."),
    "description": _("At most 500 characters."),
    "picture_url": _("An image's web address, starting with http:// or https://"),
    "points": _("A whole number of points, at least 1."),
    "cash": _("An amount such as 9.90, or empty."),
    "stock": _("A whole number, 0 or more; empty: unlimited."),
    "limit_count": _("A whole number, at least 1; empty: no limit."),
    "available_from": _("A date and time, or empty."),
    "available_until": _("A date and time, or empty."),
}
TEXT_FIELDS = (
    "code",
    "kind",
    "name",
    "description",
    "picture_url",
    "points",
    "cash",
    "stock",
    "limit_count",
    "limit_period",
    "available_from",
    "available_until",
)


def new_key() -> str:
    """A fresh key for a form: the idempotency of what submitting it does."""
    return secrets.token_urlsafe(16)


def _text(form: FormData, name: str, most: int = 500) -> str:
    value = form.get(name)
    return value.strip()[: most + 1] if isinstance(value, str) else ""


# --- rewards ----------------------------------------------------------------------------


def _entered_of(reward: Reward, staff: StaffContext) -> dict[str, Any]:
    def local(value: datetime | None) -> str:
        return value.astimezone(staff.program.tz).strftime("%Y-%m-%dT%H:%M") if value else ""

    terms = service.terms_of(reward)
    return {
        "code": reward.code,
        "kind": reward.kind,
        "name": reward.name,
        "description": reward.description,
        "picture_url": reward.picture_url,
        "points": str(reward.points),
        "cash": format_money(reward.cash_minor) if reward.cash_minor else "",
        "stock": "" if reward.stock is None else str(reward.stock),
        "limit_count": "" if reward.limit_count is None else str(reward.limit_count),
        "limit_period": reward.limit_period,
        "available_from": local(terms.available_from),
        "available_until": local(terms.available_until),
        "tiers": list(reward.tiers or ()),
        "active": reward.active,
    }


BLANK: dict[str, Any] = {
    **dict.fromkeys(TEXT_FIELDS, ""),
    "kind": RewardKind.goods,
    "limit_period": Period.once,
    "tiers": [],
    "active": True,
}


def _entered(form: FormData) -> dict[str, Any]:
    entered: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    entered["tiers"] = [t[:32] for t in form.getlist("tiers") if isinstance(t, str)][:50]
    entered["active"] = form.get("active") == "yes"
    return entered


def _checked(
    staff: StaffContext, entered: dict[str, Any]
) -> tuple[RewardIn | None, dict[str, str]]:
    """The form as the reward API would read it; by field, what it refuses."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {
        "code": entered["code"],
        "kind": entered["kind"] or RewardKind.goods,
        "name": entered["name"],
        "description": entered["description"],
        "picture_url": entered["picture_url"],
        "points": entered["points"] or None,
        "cash": entered["cash"] or "0",
        "stock": entered["stock"] or None,
        "limit_count": entered["limit_count"] or None,
        "limit_period": entered["limit_period"] or Period.once,
        "tiers": entered["tiers"],
        "active": entered["active"],
    }
    for name in ("available_from", "available_until"):
        body[name] = None
        if entered[name]:
            try:
                at = datetime.fromisoformat(entered[name][:16])
            except ValueError:
                errors[name] = translate(FIELD_PROBLEMS[name], staff.locale)
            else:
                body[name] = at.replace(tzinfo=staff.program.tz).isoformat()
    try:
        checked = RewardIn.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "code"
            problem = (
                CONTROL_FIELD_MESSAGE
                if error["type"] == CONTROL_CHARACTERS
                else FIELD_PROBLEMS.get(name, _("Check this field."))
            )
            errors.setdefault(name, translate(problem, staff.locale))
        return None, errors
    return (None, errors) if errors else (checked, {})


def _spec(checked: RewardIn) -> service.RewardSpec:
    return service.RewardSpec(
        code=checked.code,
        kind=checked.kind,
        name=checked.name,
        description=checked.description,
        picture_url=checked.picture_url,
        points=checked.points,
        cash_minor=checked.cash,
        stock=checked.stock,
        limit_count=checked.limit_count,
        limit_period=checked.limit_period,
        available_from=checked.available_from,
        available_until=checked.available_until,
        tiers=tuple(checked.tiers),
        active=checked.active,
    )


def _choices(staff: StaffContext) -> dict[str, Any]:
    return {
        "kinds": {kind: KIND_NAMES[kind] for kind in FORM_KINDS},
        "periods": PERIOD_NAMES,
        "tiers": [(tier.code, tier.name) for tier in staff.program.ladder.tiers],
        "tier_names": {tier.code: tier.name for tier in staff.program.ladder.tiers},
        "may_edit": may_do(staff, Action.edit_settings),
    }


def _rewards_page(
    staff: StaffContext,
    *,
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    with staff.work.transaction() as session:
        rewards = service.catalog(session, program=staff.program)
    return staff.render(
        "reward/rewards.html",
        status_code=status_code,
        rewards=rewards,
        entered=entered or BLANK,
        errors=errors or {},
        error=error,
        done=done,
        **_choices(staff),
    )


@router.get("/admin/rewards")
def rewards_page(staff: ViewRewards, done: bool = False) -> Response:
    """The catalog: every reward with its price, stock and terms; the form to define one."""
    return _rewards_page(staff, done=done)


@router.post("/admin/rewards")
async def create_reward(staff: EditRewards) -> Response:
    """Define a reward (the same definition sent twice makes it once); audited."""
    form = await staff.form()
    entered = {**_entered(form), "active": True}
    checked, errors = _checked(staff, entered)
    if checked is None:
        return _rewards_page(staff, entered=entered, errors=errors, status_code=422)
    try:
        with staff.work.transaction() as session:
            service.define(session, program=staff.program, spec=_spec(checked), origin=staff.origin)
    except MemberkitError as exc:
        return _rewards_page(
            staff, entered=entered, error=exc.detail(staff.locale), status_code=exc.status
        )
    return RedirectResponse("/admin/rewards?done=true", status_code=303)


def _reward_page(
    staff: StaffContext,
    *,
    entered: dict[str, Any],
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return staff.render(
        "reward/reward.html",
        status_code=status_code,
        entered=entered,
        errors=errors or {},
        error=error,
        **_choices(staff),
    )


@router.get("/admin/rewards/{code}")
def reward_page(code: str, staff: ViewRewards) -> Response:
    """One reward's form: its terms, restocking, switching it off or on."""
    with staff.work.transaction() as session:
        reward = service.get(session, program=staff.program, code=code[:32])
        entered = _entered_of(reward, staff)
    return _reward_page(staff, entered=entered)


@router.post("/admin/rewards/{code}")
async def change_reward(code: str, staff: EditRewards) -> Response:
    """Change a reward's terms (its code and kind stay); audited with before and after."""
    form = await staff.form()
    with staff.work.transaction() as session:
        reward = service.get(session, program=staff.program, code=code[:32])
        kind = reward.kind
    entered = {**_entered(form), "code": code[:32], "kind": kind}
    checked, errors = _checked(staff, entered)
    if checked is None:
        return _reward_page(staff, entered=entered, errors=errors, status_code=422)
    spec = _spec(checked)
    changes = {name: getattr(spec, name) for name in service.CHANGEABLE}
    try:
        with staff.work.transaction() as session:
            service.change(
                session, program=staff.program, code=spec.code, changes=changes, origin=staff.origin
            )
    except MemberkitError as exc:
        return _reward_page(
            staff, entered=entered, error=exc.detail(staff.locale), status_code=exc.status
        )
    return RedirectResponse("/admin/rewards?done=true", status_code=303)


# --- redemptions on the console ------------------------------------------------------------


def _may_cancel(staff: StaffContext, row: RedemptionRow) -> bool:
    return row.status == RedemptionStatus.pending and staff.actor.may(
        Action.refund_orders, store_code=row.store_code
    )


def _may_fulfil(staff: StaffContext, row: RedemptionRow) -> bool:
    if row.status != RedemptionStatus.pending or not may_do(staff, Action.post_orders):
        return False
    return staff.actor.store_scope is None or staff.store_code is not None


def _redemptions_page(
    staff: StaffContext,
    *,
    status: str = "",
    store: str = "",
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    wanted = RedemptionStatus(status) if status in set(RedemptionStatus) else None
    with staff.work.transaction() as session:
        rows = service.listing(
            session,
            program=staff.program,
            status=wanted,
            store_code=store[:32] or None,
            scope=staff.actor.store_scope,
        )
        stores = sorted(staff.actor.store_scope or ()) or [
            found.code
            for found in store_service.listing(
                session, program_id=staff.program.id, city=None, active=True, offset=0, limit=500
            )[1]
        ]
    return staff.render(
        "reward/redemptions.html",
        status_code=status_code,
        rows=[(row, _may_fulfil(staff, row), _may_cancel(staff, row)) for row in rows],
        statuses=STATUS_NAMES,
        status=wanted or "",
        store=store[:32],
        stores=stores,
        working_store=staff.store_code,
        error=error,
        done=done,
    )


@router.get("/admin/redemptions")
def redemptions_page(staff: ViewRedemptions, status: str = "", store: str = "") -> Response:
    """The latest redemptions, by status and store (made or picked up there); pickup, cancel."""
    return _redemptions_page(staff, status=status[:16], store=store)


def _pickup_store(staff: StaffContext, form: FormData) -> str:
    """The store a pickup is recorded at: the one a store-bound role works for, else chosen."""
    if staff.actor.store_scope is not None:
        working = staff.store_code
        staff.actor.require(Action.post_orders, store_code=working)
        assert working is not None
        return working
    staff.actor.require(Action.post_orders)
    chosen = _text(form, "store", 32)
    if not chosen:
        raise service.PickupNeedsStore()
    return chosen


def _fulfil(staff: StaffContext, external_id: str, store_code: str) -> RedemptionRow:
    def action(session: Any) -> dict[str, Any]:
        row = service.fulfil(
            session,
            program=staff.program,
            external_id=external_id,
            store_code=store_code,
            origin=staff.origin,
        )
        return {"external_id": row.external_id, "member_no": row.member_no}

    outcome = staff.work.once(
        key=keys.redemption_fulfil(external_id),
        request={"store_code": store_code},
        action=action,
        subject=external_id,
    )
    with staff.work.transaction() as session:
        return service.find(session, program=staff.program, external_id=outcome.body["external_id"])


@router.post("/admin/redemptions/{external_id}/fulfil")
async def fulfil_redemption(external_id: str, staff: ViewRedemptions) -> Response:
    """Record a pickup at a store (a store-bound role: the store it works for); once."""
    form = await staff.form()
    external_id = external_id[:100]
    try:
        _fulfil(staff, external_id, _pickup_store(staff, form))
    except MemberkitError as exc:
        return _redemptions_page(staff, error=exc.detail(staff.locale), status_code=exc.status)
    return RedirectResponse(f"/admin/redemptions?done={external_id}", status_code=303)


@router.post("/admin/redemptions/{external_id}/cancel")
async def cancel_redemption(external_id: str, staff: ViewRedemptions) -> Response:
    """Cancel a pending redemption with a reason: points and stock back; once, audited."""
    form = await staff.form()
    external_id = external_id[:100]
    reason = _text(form, "reason", 200)
    try:
        with staff.work.transaction() as session:
            row = service.find(session, program=staff.program, external_id=external_id)
        staff.actor.require(Action.refund_orders, store_code=row.store_code)
        if not reason or len(reason) > 200:
            error = translate(
                _("Give a reason for cancelling, at most 200 characters."), staff.locale
            )
            return _redemptions_page(staff, error=error, status_code=422)

        def action(session: Any) -> dict[str, Any]:
            done = service.cancel(
                session,
                program=staff.program,
                external_id=external_id,
                reason=reason,
                store_code=row.store_code if staff.actor.store_scope is not None else None,
                origin=staff.origin,
            )
            return {"external_id": done.redemption.external_id}

        staff.work.once(
            key=keys.redemption_cancel(external_id),
            request={"reason": reason},
            action=action,
            subject=external_id,
        )
    except MemberkitError as exc:
        return _redemptions_page(staff, error=exc.detail(staff.locale), status_code=exc.status)
    return RedirectResponse(f"/admin/redemptions?done={external_id}", status_code=303)


# --- pickup at the till ----------------------------------------------------------------


def _pickup_page(
    staff: StaffContext,
    *,
    member_no: str | None = None,
    error: str | None = None,
    done: RedemptionRow | None = None,
    status_code: int = 200,
) -> Response:
    member, pending = None, []
    if member_no is not None:
        with staff.work.transaction() as session:
            try:
                if not valid_member_no(member_no):
                    raise member_service.MemberNotFound(identifier=member_no[:20])
                found = member_service.find(
                    session, program_id=staff.program.id, member_no=member_no
                )
            except MemberkitError as exc:
                return _pickup_page(staff, error=exc.detail(staff.locale), status_code=exc.status)
            member = {"member_no": found.member_no, "tier": found.tier_code}
            pending = service.pending_of(session, program=staff.program, member_id=found.id)
    return staff.render(
        "reward/pickup.html",
        status_code=status_code,
        member=member,
        pending=pending,
        error=error,
        done=done,
        store_code=staff.store_code,
    )


@router.get("/pos/rewards")
def pickup_page(staff: Till, m: str | None = None) -> Response:
    """The till's pickup step: the member's rewards waiting for pickup, each to hand over."""
    return _pickup_page(staff, member_no=m[:20] if m else None)


@router.post("/pos/rewards/{external_id}/fulfil")
async def pickup(external_id: str, staff: Till) -> Response:
    """Hand a reward over at this till's store: the pickup is recorded there, once."""
    form = await staff.form()
    member_no = _text(form, "member", 20)
    store_code = staff.store_code
    try:
        if store_code is None:
            staff.actor.require(Action.post_orders)
            raise service.PickupNeedsStore()
        staff.actor.require(Action.post_orders, store_code=store_code)
        staff.actor.require_same_store(_text(form, "store", 32), working=store_code)
        done = _fulfil(staff, external_id[:100], store_code)
    except MemberkitError as exc:
        return _pickup_page(
            staff,
            member_no=member_no or None,
            error=exc.detail(staff.locale),
            status_code=exc.status,
        )
    return _pickup_page(staff, member_no=done.member_no, done=done)
