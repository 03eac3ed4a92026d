"""Webhook use cases: subscriptions, replays by an operator, and one delivery pass of a worker.

Delivery is at least once and in order per member: a receiver de-duplicates by the event id
(``Memberkit-Event-Id``). Requests go out only from a worker, after the business transaction
committed, each within one total deadline, to public addresses only (or networks the
deployment allows), without following redirects (:mod:`memberkit.webhook.sender`).
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from memberkit.config import settings
from memberkit.db import Database
from memberkit.errors import InvalidInput, NotFound
from memberkit.events import EventType
from memberkit.kit import crypto
from memberkit.kit.i18n import Text, TextError, _
from memberkit.kit.tasks import Progress
from memberkit.kit.time import iso, utcnow
from memberkit.program import service as program_service
from memberkit.webhook import repository, rules
from memberkit.webhook.models import DeliveryStatus, DisabledReason, WebhookSubscription
from memberkit.webhook.rules import AddressKind
from memberkit.webhook.sender import Answer, Sender

log = logging.getLogger("memberkit.webhook")


class WebhookNotFound(NotFound):
    """No such subscription in the program."""

    code = "webhook_not_found"
    message = _("No webhook subscription {subscription_id}.")


class DeliveryNotFound(NotFound):
    """No such delivery of the subscription."""

    code = "delivery_not_found"
    message = _("No delivery {delivery_id} of webhook subscription {subscription_id}.")


class EventNotFound(NotFound):
    """No outbox event with that id."""

    code = "event_not_found"
    message = _("No event {event_id}.")


class InvalidWebhook(InvalidInput):
    """A subscription that cannot be accepted."""

    code = "invalid_webhook"
    message = _("Invalid webhook subscription: {problem}")


class BlockedAddress(InvalidInput):
    """A subscription URL naming an address that is not public, in no network allowed."""

    code = "webhook_address_blocked"
    message = _(
        "Webhooks are not sent to {address}: it is not a public address ({kind}). A receiver"
        " on the deployment's own networks needs them allowed (MEMBERKIT_WEBHOOK_ALLOW_NETWORKS)."
    )


#: How an address that may not receive deliveries is named to people.
KINDS = {
    AddressKind.unspecified: _("unspecified"),
    AddressKind.loopback: _("loopback"),
    AddressKind.link_local: _("link-local"),
    AddressKind.multicast: _("multicast"),
    AddressKind.private: _("private"),
    AddressKind.reserved: _("reserved"),
    AddressKind.shared: _("shared, not global"),
}


@dataclass(frozen=True)
class Subscription:
    """A subscription as operators see it; ``secret`` only when it was just created."""

    id: int
    url: str
    description: str
    event_types: list[str]
    active: bool
    failure_run: int
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime
    secret: str | None = None


def _view(subscription: WebhookSubscription, secret: str | None = None) -> Subscription:
    return Subscription(
        id=subscription.id,
        url=subscription.url,
        description=subscription.description,
        event_types=list(subscription.event_types or []),
        active=subscription.active,
        failure_run=subscription.failure_run,
        disabled_reason=subscription.disabled_reason,
        disabled_at=subscription.disabled_at,
        created_at=subscription.created_at,
        secret=secret,
    )


def _place(program_id: int, subscription_id: int) -> str:
    return f"webhook_subscriptions:{program_id}:{subscription_id}:secret"


def _checked_url(url: str) -> str:
    """Return ``url`` if it may receive webhooks; a host given as an address must be public.

    A host name is not resolved here: the worker resolves it at each attempt, and refuses it
    then if it names an address that may not receive deliveries.
    """
    try:
        checked = rules.check_url(url)
    except TextError as exc:
        raise InvalidWebhook(problem=exc.text) from exc
    host = rules.wire_host(checked)
    address = rules.literal_address(host)
    if address is not None:
        kind = rules.blocked(address, allowed=settings.webhook_allowed_networks)
        if kind is not None:
            meant = str(rules.plain(address))
            named = host if host == meant else f"{host} ({meant})"
            raise BlockedAddress(address=named, kind=Text(KINDS[kind]))
    return checked


def _checked_types(event_types: Sequence[str]) -> list[str]:
    known = {str(t) for t in EventType}
    for name in event_types:
        if name not in known:
            raise InvalidWebhook(
                problem=Text(
                    _("{type} is not an event type (types: {types})"),
                    type=name,
                    types=", ".join(sorted(known)),
                )
            )
    return sorted(set(event_types))


def subscribe(
    session: Session,
    *,
    program_id: int,
    url: str,
    event_types: Sequence[str],
    description: str = "",
    now: datetime | None = None,
) -> Subscription:
    """Subscribe ``url`` to the program's events of ``event_types`` (empty: every type).

    Returns the subscription with its signing secret: the one time the secret is shown.
    It receives the events that happen from now on.
    """
    subscription = repository.add_subscription(
        session,
        program_id=program_id,
        url=_checked_url(url),
        event_types=_checked_types(event_types),
        description=description,
        now=now or utcnow(),
    )
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    subscription.secret_enc = (
        crypto.encrypt(secret, context=_place(program_id, subscription.id)) or ""
    )
    session.flush()
    return _view(subscription, secret)


def _find(
    session: Session, *, program_id: int, subscription_id: int, lock: bool = False
) -> WebhookSubscription:
    found = repository.subscription(
        session, program_id=program_id, subscription_id=subscription_id, lock=lock
    )
    if found is None:
        raise WebhookNotFound(subscription_id=subscription_id)
    return found


def get(session: Session, *, program_id: int, subscription_id: int) -> Subscription:
    """Return one subscription (never its secret)."""
    return _view(_find(session, program_id=program_id, subscription_id=subscription_id))


def listing(
    session: Session, *, program_id: int, offset: int, limit: int
) -> tuple[int, list[Subscription]]:
    """Return (total, page) of the program's subscriptions."""
    total, rows = repository.subscriptions(
        session, program_id=program_id, offset=offset, limit=limit
    )
    return total, [_view(row) for row in rows]


def change(
    session: Session,
    *,
    program_id: int,
    subscription_id: int,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    active: bool | None = None,
    now: datetime | None = None,
) -> Subscription:
    """Change a subscription's URL, event types or active flag; the same values change nothing.

    Switching it on again clears the reason it was off and its run of failures; its
    deliveries still open are then attempted, in order.
    """
    subscription = _find(session, program_id=program_id, subscription_id=subscription_id, lock=True)
    moment = now or utcnow()
    if url is not None:
        subscription.url = _checked_url(url)
    if event_types is not None:
        subscription.event_types = _checked_types(event_types)
    if active is not None and active != subscription.active:
        subscription.active = active
        if active:
            subscription.failure_run = 0
            subscription.disabled_reason = None
            subscription.disabled_at = None
        else:
            subscription.disabled_reason = DisabledReason.operator
            subscription.disabled_at = moment
    session.flush()
    return _view(subscription)


def delete(session: Session, *, program_id: int, subscription_id: int) -> None:
    """Delete a subscription: nothing more is delivered to it; its log is kept."""
    subscription = _find(session, program_id=program_id, subscription_id=subscription_id, lock=True)
    subscription.active = False
    subscription.deleted_at = utcnow()
    session.flush()


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to a subscription, as the log shows it."""

    id: int
    subscription_id: int
    event_id: str
    event_type: str
    member_no: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def _delivery(row: Any) -> Delivery:
    open_ = row.status in repository.OPEN
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.type,
        member_no=row.member_no,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if open_ else None,
        last_status_code=row.last_status_code,
        last_latency_ms=row.last_latency_ms,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def deliveries(
    session: Session,
    *,
    program_id: int,
    subscription_id: int,
    status: DeliveryStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[Delivery]]:
    """Return (total, page) of a subscription's deliveries, newest first."""
    repository_status = str(status) if status is not None else None
    _find(session, program_id=program_id, subscription_id=subscription_id)
    total, rows = repository.deliveries(
        session,
        program_id=program_id,
        subscription_id=subscription_id,
        status=repository_status,
        offset=offset,
        limit=limit,
    )
    return total, [_delivery(row) for row in rows]


@dataclass(frozen=True)
class Attempt:
    """One attempt of a delivery."""

    attempt: int
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


def _find_delivery(
    session: Session, *, program_id: int, subscription_id: int, delivery_id: int
) -> Any:
    _find(session, program_id=program_id, subscription_id=subscription_id)
    row = repository.delivery(session, program_id=program_id, delivery_id=delivery_id)
    if row is None or row.subscription_id != subscription_id:
        raise DeliveryNotFound(delivery_id=delivery_id, subscription_id=subscription_id)
    return row


def delivery(
    session: Session, *, program_id: int, subscription_id: int, delivery_id: int
) -> tuple[Delivery, list[Attempt]]:
    """Return one delivery of a subscription with its attempts, first first."""
    row = _find_delivery(
        session, program_id=program_id, subscription_id=subscription_id, delivery_id=delivery_id
    )
    tried = [Attempt(*a) for a in repository.attempts(session, delivery_id=delivery_id)]
    return _delivery(row), tried


def replay(
    session: Session,
    *,
    program_id: int,
    subscription_id: int,
    delivery_id: int,
    now: datetime | None = None,
) -> Delivery:
    """Send a delivery again (an operator's replay), whatever its status, with a fresh window.

    The receiver gets the same event id again, so one that de-duplicates keeps one copy.
    """
    _find_delivery(
        session, program_id=program_id, subscription_id=subscription_id, delivery_id=delivery_id
    )
    repository.reopen(session, delivery_ids=[delivery_id], now=now or utcnow())
    row = repository.delivery(session, program_id=program_id, delivery_id=delivery_id)
    if row is None:  # purged meanwhile
        raise DeliveryNotFound(delivery_id=delivery_id, subscription_id=subscription_id)
    return _delivery(row)


def replay_event(
    session: Session,
    *,
    program_id: int,
    event_id: str,
    subscription_id: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Send an event again to one subscription, or to every active one that wants its type.

    Returns the deliveries made due; a subscription that never had the event gets it now.
    """
    event = repository.event(session, program_id=program_id, event_id=event_id)
    if event is None:
        raise EventNotFound(event_id=event_id)
    if subscription_id is not None:
        targets = [_find(session, program_id=program_id, subscription_id=subscription_id).id]
    else:
        _total, rows = repository.subscriptions(
            session, program_id=program_id, offset=0, limit=10_000
        )
        targets = [s.id for s in rows if s.active and rules.wants(s.event_types, event.type)]
    if not targets:
        return []
    return repository.replay_event(
        session, program_id=program_id, event=event, subscription_ids=targets, now=now or utcnow()
    )


@dataclass(frozen=True)
class Pass:
    """What one worker pass did."""

    dispatched: int = 0
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    disabled: int = 0

    @property
    def busy(self) -> bool:
        """Whether the pass found work (the worker then goes on at once)."""
        return bool(self.dispatched or self.attempted)


def send(sender: Sender, claimed: repository.Claimed, tz: ZoneInfo | None = None) -> Answer:
    """POST one claimed delivery, signed as it leaves (never raises for the network).

    Its time is shown in ``tz``, its program's timezone, as the program's API answers show it.

    The timestamp, and so the signature, is taken now, at each attempt: a receiver may
    refuse a delivery signed too long ago (a replay) without refusing a late retry.
    """
    try:
        secret = crypto.decrypt(
            claimed.secret_enc, context=_place(claimed.program_id, claimed.subscription_id)
        )
    except crypto.CiphertextError:
        return Answer(None, 0, "the signing secret cannot be decrypted (another secret key?)")
    payload = rules.body(
        event_id=claimed.event_id,
        type=claimed.type,
        program=claimed.program_code,
        member_no=claimed.member_no,
        occurred_at=iso(claimed.occurred_at, tz) or "",
        data=claimed.payload,
    )
    headers = rules.headers(
        secret or "",
        event_id=claimed.event_id,
        event_type=claimed.type,
        timestamp=int(utcnow().timestamp()),
        payload=payload,
    )
    return sender.post(claimed.url, body=payload, headers=headers)


def deliver_due(
    database: Database,
    *,
    now: datetime | None = None,
    limit: int = 50,
    rng: Random | None = None,
    sender: Sender | None = None,
) -> Pass:
    """Run one worker pass at ``now``: fan the outbox out, claim due deliveries, send them.

    Each step is its own short transaction; no transaction is open during a request. A claim
    holds for ``settings.webhook_lease_seconds``, longer than an attempt's deadline: a worker
    killed mid-delivery loses nothing, the delivery is claimed again once the lease has run
    out, and no attempt still runs when it does.
    """
    moment = now or utcnow()
    rng = rng or Random()
    sender = sender or Sender.from_settings()
    dispatched = _fan_out(database, now=moment, limit=limit * 10)
    with database.session_scope(read_only=True) as session:
        if not repository.any_due(session, now=moment):
            return Pass(dispatched=dispatched)
    token = uuid.uuid4().hex
    with database.session_scope() as session:
        claimed = repository.claim(
            session,
            now=moment,
            until=moment + timedelta(seconds=settings.webhook_lease_seconds),
            token=token,
            limit=limit,
        )
    # No attempt may still run when the lease ends (another worker could then claim it too):
    # what is left when too little of the lease remains for one more is handed back, unsent.
    last_start = time.monotonic() + settings.webhook_lease_seconds - sender.deadline
    counts = {"delivered": 0, "failed": 0, "given_up": 0, "disabled": 0}
    zones = _zones(database, {one.program_code for one in claimed})
    attempted = 0
    for one in claimed:
        if time.monotonic() > last_start:
            with database.session_scope() as session:
                repository.release(
                    session,
                    delivery_ids=[c.delivery_id for c in claimed[attempted:]],
                    token=token,
                )
            break
        attempted += 1
        answer = send(sender, one, zones[one.program_code])
        outcome, disabled = _record(database, claimed=one, answer=answer, now=moment, rng=rng)
        if outcome is not None:
            counts[str(outcome)] += 1
        counts["disabled"] += disabled
    return Pass(dispatched=dispatched, attempted=attempted, **counts)


def _zones(database: Database, codes: set[str]) -> dict[str, ZoneInfo]:
    """Return the timezone of each program named (by code)."""
    if not codes:
        return {}
    with database.session_scope(read_only=True) as session:
        return {
            code: (
                program_service.cached(database.engine, code) or program_service.get(session, code)
            ).tz
            for code in codes
        }


def _fan_out(database: Database, *, now: datetime, limit: int) -> int:
    with database.session_scope(read_only=True) as session:
        if not repository.undispatched(session):
            return 0
    with database.session_scope() as session:
        return repository.fan_out(session, now=now, limit=limit)


def _record(
    database: Database,
    *,
    claimed: repository.Claimed,
    answer: Answer,
    now: datetime,
    rng: Random,
) -> tuple[DeliveryStatus | None, int]:
    """Record an attempt's answer; returns the delivery's new status and 1 if it disabled."""
    window = timedelta(hours=settings.webhook_retry_hours)
    if rules.delivered(answer.status_code):
        status, next_at, error = DeliveryStatus.delivered, None, None
    else:
        error = rules.describe_failure(answer.status_code, answer.error)
        next_at = rules.next_attempt(
            attempts=claimed.attempts + 1,
            retry_from=claimed.retry_from or now,
            now=now,
            window=window,
            rng=rng,
        )
        status = DeliveryStatus.failed if next_at is not None else DeliveryStatus.given_up
    disabled = False
    with database.session_scope() as session:
        if not repository.record_attempt(
            session,
            claimed=claimed,
            at=now,
            status=status,
            next_attempt_at=next_at,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            error=error,
        ):
            log.info("delivery %s: claim lost, result not recorded", claimed.delivery_id)
            return None, 0
        if status == DeliveryStatus.delivered:
            repository.reset_failure_run(session, subscription_id=claimed.subscription_id)
        else:
            disabled = repository.count_failure(
                session,
                subscription_id=claimed.subscription_id,
                now=now,
                disable_after=settings.webhook_disable_after,
            )
    if disabled:
        log.warning(
            "webhook subscription %s (%s) disabled after %s consecutive failed attempts; "
            "last: %s. Switch it on again with `memberkit webhook enable %s`.",
            claimed.subscription_id,
            claimed.url,
            settings.webhook_disable_after,
            error,
            claimed.subscription_id,
        )
    return status, int(disabled)


@dataclass(frozen=True)
class Purge:
    """What an outbox purge deleted (or, in a dry run, would delete)."""

    events: int = 0
    deliveries: int = 0
    attempts: int = 0


def purge_outbox(
    database: Database,
    *,
    program_id: int,
    before: datetime,
    dry_run: bool = False,
    batch: int = 500,
    progress: Progress | None = None,
) -> Purge:
    """Delete the program's outbox events fanned out before ``before`` that are done with.

    An event is done with when none of its deliveries is still to be tried (pending or
    failed): each was delivered or given up, or it had no subscription. It goes with its
    deliveries and their attempts, ``batch`` events per transaction; an event that still has
    a delivery to try is never touched. A ``dry_run`` only counts. Safe to repeat.
    """
    with database.session_scope(read_only=True) as session:
        total = Purge(*repository.count_purgeable(session, program_id=program_id, before=before))
    if dry_run or not total.events:
        return total
    done = Purge()
    after: repository.PurgeKey | None = None
    while True:
        with database.session_scope() as session:
            keys = repository.purgeable(
                session, program_id=program_id, before=before, after=after, limit=batch
            )
            if not keys:
                break
            events, deliveries, attempts = repository.purge_events(
                session, event_ids=[key.id for key in keys]
            )
        after = keys[-1]
        done = Purge(done.events + events, done.deliveries + deliveries, done.attempts + attempts)
        if progress is not None:
            progress(done.events, max(total.events, done.events))
    return done
