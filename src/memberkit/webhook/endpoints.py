"""REST endpoints of webhooks: subscriptions, their delivery log, replays (chain admin keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from memberkit.api.context import ChainAdminContext, IdempotencyKey, MissingIdempotencyKey
from memberkit.kit import keys
from memberkit.kit.schemas import Page, PageNumber, PageSize
from memberkit.webhook import service
from memberkit.webhook.models import DeliveryStatus
from memberkit.webhook.schemas import (
    AttemptOut,
    CreatedSubscriptionOut,
    DeliveryDetailOut,
    DeliveryList,
    DeliveryOut,
    ReplayIn,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _subscription(subscription: service.Subscription) -> SubscriptionOut:
    fields = {**vars(subscription), "events": subscription.event_types}
    return SubscriptionOut.model_validate(fields)


def _delivery(delivery: service.Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(vars(delivery))


@router.post(
    "",
    status_code=201,
    response_model=CreatedSubscriptionOut,
    responses={200: {"description": "A repeat of a subscription already made"}},
)
def create_webhook(
    body: SubscriptionIn, context: ChainAdminContext, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Subscribe a URL to events (empty ``events``: every type); the secret is shown only here.

    Needs an ``Idempotency-Key`` header: a repeat returns the first response (with the same
    secret), other content under the key is a 409. Deliveries are signed with the secret
    (``Memberkit-Signature``); the subscription receives the events that happen from now on.
    """
    if not idempotency_key:
        raise MissingIdempotencyKey()

    def action(session: Session) -> CreatedSubscriptionOut:
        created = service.subscribe(
            session,
            program_id=context.program.id,
            url=body.url,
            event_types=[str(t) for t in body.events],
            description=body.description,
        )
        out = _subscription(created).model_dump()
        return CreatedSubscriptionOut(**out, secret=created.secret or "")

    return context.idempotent(key=keys.webhook(idempotency_key), payload=body, action=action)


@router.get("", response_model=SubscriptionList)
def list_webhooks(
    context: ChainAdminContext,
    page: Annotated[PageNumber, Query()] = 1,
    page_size: Annotated[PageSize, Query()] = 50,
) -> SubscriptionList:
    """List the program's subscriptions, oldest first (never their secrets)."""
    with context.transaction() as session:
        total, items = service.listing(
            session, program_id=context.program.id, offset=(page - 1) * page_size, limit=page_size
        )
    return SubscriptionList(
        items=[_subscription(s) for s in items],
        page=Page(page=page, page_size=page_size, total=total),
    )


@router.get("/{subscription_id}", response_model=SubscriptionOut)
def get_webhook(subscription_id: SubscriptionId, context: ChainAdminContext) -> SubscriptionOut:
    """Return one subscription, with why it is switched off if it is."""
    with context.transaction() as session:
        return _subscription(
            service.get(session, program_id=context.program.id, subscription_id=subscription_id)
        )


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
def change_webhook(
    subscription_id: SubscriptionId, body: SubscriptionPatch, context: ChainAdminContext
) -> SubscriptionOut:
    """Change the URL, the event types or the active flag; a repeat changes nothing more.

    ``active: true`` switches a subscription on again and clears its run of failures; the
    deliveries it missed while off are not made, those still open are sent.
    """
    with context.transaction() as session:
        return _subscription(
            service.change(
                session,
                program_id=context.program.id,
                subscription_id=subscription_id,
                url=body.url,
                event_types=[str(t) for t in body.events] if body.events is not None else None,
                active=body.active,
            )
        )


@router.delete("/{subscription_id}", status_code=204)
def delete_webhook(subscription_id: SubscriptionId, context: ChainAdminContext) -> Response:
    """Delete a subscription: nothing more is sent to it (a repeat is a 404)."""
    with context.transaction() as session:
        service.delete(session, program_id=context.program.id, subscription_id=subscription_id)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    subscription_id: SubscriptionId,
    context: ChainAdminContext,
    status: DeliveryStatus | None = None,
    page: Annotated[PageNumber, Query()] = 1,
    page_size: Annotated[PageSize, Query()] = 50,
) -> DeliveryList:
    """List a subscription's deliveries, newest event first, optionally of one status."""
    with context.transaction() as session:
        total, items = service.deliveries(
            session,
            program_id=context.program.id,
            subscription_id=subscription_id,
            status=status,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
    return DeliveryList(
        items=[_delivery(d) for d in items],
        page=Page(page=page, page_size=page_size, total=total),
    )


@router.get("/{subscription_id}/deliveries/{delivery_id}", response_model=DeliveryDetailOut)
def get_delivery(
    subscription_id: SubscriptionId, delivery_id: DeliveryId, context: ChainAdminContext
) -> DeliveryDetailOut:
    """Return one delivery with each attempt: time, status code, latency, error."""
    with context.transaction() as session:
        found, tried = service.delivery(
            session,
            program_id=context.program.id,
            subscription_id=subscription_id,
            delivery_id=delivery_id,
        )
    return DeliveryDetailOut(
        **_delivery(found).model_dump(),
        attempts_log=[AttemptOut.model_validate(vars(a)) for a in tried],
    )


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/replay",
    status_code=201,
    response_model=DeliveryOut,
    responses={200: {"description": "A repeat of a replay already asked for"}},
)
def replay_delivery(
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    context: ChainAdminContext,
    body: ReplayIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Send a delivery again, whatever its status, with a fresh retry window.

    Needs an ``Idempotency-Key`` header; a repeat returns the first response and replays
    nothing more. The receiver gets the same event id again.
    """
    if not idempotency_key:
        raise MissingIdempotencyKey()

    def action(session: Session) -> DeliveryOut:
        return _delivery(
            service.replay(
                session,
                program_id=context.program.id,
                subscription_id=subscription_id,
                delivery_id=delivery_id,
            )
        )

    return context.idempotent(
        key=keys.webhook_replay(idempotency_key),
        payload=body or ReplayIn(),
        action=action,
        subject=f"{subscription_id}/{delivery_id}",
    )
