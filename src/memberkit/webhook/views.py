"""Console pages of the webhooks: subscriptions, their delivery logs, replays (owners, admins).

Subscriptions are made, switched off and on again; each one's delivery log has a replay
button on every delivery.

The forms call the webhook service as the webhook API does (its address checks apply), and
every change is audited. A new subscription's signing secret is shown once; making it runs
once per form, so a double submit makes one (the repeat does not show the secret again).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from memberkit.errors import MemberkitError
from memberkit.events import EventType
from memberkit.faces.pages import Action, record
from memberkit.faces.web import StaffContext, require_action
from memberkit.kit.i18n import TextError, _, translate
from memberkit.kit.schemas import CONTROL_FIELD_MESSAGE, has_control_characters
from memberkit.kit.time import utcnow
from memberkit.webhook import rules, service

router = APIRouter(prefix="/admin/webhooks", include_in_schema=False)

ManageWebhooks = Annotated[StaffContext, Depends(require_action(Action.manage_webhooks))]
#: Deliveries shown per page of a subscription's log.
LOG_PAGE = 50


def _list(
    staff: StaffContext,
    *,
    secret: str | None = None,
    repeated: int | None = None,
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    with staff.work.transaction() as session:
        _total, subscriptions = service.listing(
            session, program_id=staff.program.id, offset=0, limit=200
        )
    return staff.render(
        "webhook/webhooks.html",
        status_code=status_code,
        subscriptions=subscriptions,
        event_types=[str(t) for t in EventType],
        secret=secret,
        repeated=repeated,
        entered=entered or {"url": "", "description": "", "event_types": []},
        errors=errors or {},
        error=error,
        done=done,
        form_key=uuid.uuid4().hex,
    )


@router.get("")
def webhooks_page(staff: ManageWebhooks, done: bool = False) -> Response:
    """Every subscription with its state; the form to subscribe a new receiver."""
    return _list(staff, done=done)


@router.post("")
async def subscribe(staff: ManageWebhooks) -> Response:
    """Subscribe a receiver (its secret shown this once); audited without the secret."""
    form = await staff.form()
    entered: dict[str, Any] = {
        "url": str(form.get("url", ""))[: rules.MAX_URL_LENGTH + 1],
        "description": str(form.get("description", ""))[:200],
        "event_types": [str(t)[:64] for t in form.getlist("event_types")][:100],
    }
    form_key = str(form.get("form_key", ""))[:64]
    errors: dict[str, str] = {}
    try:
        rules.check_url(entered["url"])
    except TextError as exc:
        errors["url"] = exc.text.translate(staff.locale)
    if has_control_characters(entered["description"].strip()):
        errors["description"] = translate(CONTROL_FIELD_MESSAGE, staff.locale)
    unknown = sorted(set(entered["event_types"]) - set(EventType))
    if unknown:
        errors["event_types"] = translate(
            _("Unknown event types: {types}"), staff.locale, types=", ".join(unknown)
        )
    if errors:
        return _list(staff, entered=entered, errors=errors, status_code=422)
    shown: dict[str, str] = {}

    def make(session: Session) -> dict[str, Any]:
        made = service.subscribe(
            session,
            program_id=staff.program.id,
            url=entered["url"],
            event_types=entered["event_types"],
            description=entered["description"],
        )
        after = {"id": made.id, "url": made.url, "event_types": made.event_types}
        record(
            staff,
            session,
            action="webhook.create",
            subject_type="webhook",
            subject_id=made.id,
            before=None,
            after=after,
        )
        shown["secret"] = made.secret or ""
        return after

    try:
        outcome = staff.work.once(key=f"console-webhook:{form_key}", request=entered, action=make)
    except MemberkitError as exc:
        return _list(
            staff,
            entered=entered,
            errors={"url": exc.detail(staff.locale)},
            status_code=exc.status,
        )
    if not outcome.created:
        return _list(staff, repeated=int(outcome.body["id"]))
    return _list(staff, secret=shown["secret"], status_code=201)


@router.post("/{subscription_id}/active")
async def switch(subscription_id: int, staff: ManageWebhooks) -> Response:
    """Switch a subscription off (``active=no``) or on again; audited."""
    form = await staff.form()
    active = form.get("active") == "yes"
    try:
        with staff.work.transaction() as session:
            before = service.get(
                session, program_id=staff.program.id, subscription_id=subscription_id
            )
            after = service.change(
                session,
                program_id=staff.program.id,
                subscription_id=subscription_id,
                active=active,
            )
            if after.active != before.active:
                record(
                    staff,
                    session,
                    action="webhook.enable" if active else "webhook.disable",
                    subject_type="webhook",
                    subject_id=subscription_id,
                    before={"active": before.active, "url": before.url},
                    after={"active": after.active, "url": after.url},
                )
    except MemberkitError as exc:
        return _list(staff, error=exc.detail(staff.locale), status_code=exc.status)
    return RedirectResponse("/admin/webhooks?done=true", 303)


@router.get("/{subscription_id}")
def delivery_log(
    subscription_id: int, staff: ManageWebhooks, page: int = 0, replayed: int | None = None
) -> Response:
    """A subscription's deliveries, newest first, with their status; a replay button on each."""
    page = max(0, min(page, 10_000))
    with staff.work.transaction() as session:
        subscription = service.get(
            session, program_id=staff.program.id, subscription_id=subscription_id
        )
        total, deliveries = service.deliveries(
            session,
            program_id=staff.program.id,
            subscription_id=subscription_id,
            offset=page * LOG_PAGE,
            limit=LOG_PAGE,
        )
    return staff.render(
        "webhook/deliveries.html",
        subscription=subscription,
        deliveries=deliveries,
        total=total,
        page=page,
        more=(page + 1) * LOG_PAGE < total,
        replayed=replayed,
    )


@router.post("/{subscription_id}/deliveries/{delivery_id}/replay")
async def replay(subscription_id: int, delivery_id: int, staff: ManageWebhooks) -> Response:
    """Send a delivery again, whatever its status (the same event id); audited."""
    await staff.form()  # the CSRF check; the form holds nothing else
    with staff.work.transaction() as session:
        before, _attempts = service.delivery(
            session,
            program_id=staff.program.id,
            subscription_id=subscription_id,
            delivery_id=delivery_id,
        )
        after = service.replay(
            session,
            program_id=staff.program.id,
            subscription_id=subscription_id,
            delivery_id=delivery_id,
            now=utcnow(),
        )
        record(
            staff,
            session,
            action="webhook.replay",
            subject_type="webhook_delivery",
            subject_id=delivery_id,
            before={"status": before.status, "event_id": before.event_id},
            after={"status": after.status, "event_id": after.event_id},
        )
    return RedirectResponse(
        f"/admin/webhooks/{subscription_id}?replayed={delivery_id}", status_code=303
    )
