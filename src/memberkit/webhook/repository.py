"""All SQL of webhooks: subscriptions, the outbox's fan-out, claims with a lease, results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from memberkit.db import table
from memberkit.events import OutboxEvent
from memberkit.member.models import Member
from memberkit.program.models import Program
from memberkit.webhook.models import (
    DeliveryStatus,
    DisabledReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

_events = table(OutboxEvent)
_subscriptions = table(WebhookSubscription)
_deliveries = table(WebhookDelivery)
_attempts = table(WebhookAttempt)
_members = table(Member)
_programs = table(Program)
#: Deliveries still to be tried: they hold back a member's later ones.
OPEN = (DeliveryStatus.pending, DeliveryStatus.failed)


def add_subscription(
    session: Session,
    *,
    program_id: int,
    url: str,
    event_types: list[str],
    description: str,
    now: datetime,
) -> WebhookSubscription:
    """Insert a subscription (its secret is set by the caller once the row has its id)."""
    subscription = WebhookSubscription(
        program_id=program_id,
        url=url,
        description=description,
        event_types=event_types,
        secret_enc="",
        active=True,
        failure_run=0,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription


def subscription(
    session: Session, *, program_id: int, subscription_id: int, lock: bool = False
) -> WebhookSubscription | None:
    """Return a subscription of the program that is not deleted, locked if asked."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.program_id == program_id,
        WebhookSubscription.id == subscription_id,
        WebhookSubscription.deleted_at.is_(None),
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def subscriptions(
    session: Session, *, program_id: int, offset: int, limit: int
) -> tuple[int, list[WebhookSubscription]]:
    """Return (total, page) of the program's subscriptions, oldest first."""
    live = and_(
        WebhookSubscription.program_id == program_id, WebhookSubscription.deleted_at.is_(None)
    )
    total = session.scalar(select(func.count()).select_from(WebhookSubscription).where(live))
    rows = session.scalars(
        select(WebhookSubscription)
        .where(live)
        .order_by(WebhookSubscription.id)
        .offset(offset)
        .limit(limit)
    )
    return int(total or 0), list(rows)


def undispatched(session: Session) -> bool:
    """Tell whether some event is waiting to be fanned out."""
    found = session.execute(
        select(_events.c.id).where(_events.c.dispatched_at.is_(None)).limit(1)
    ).first()
    return found is not None


def fan_out(session: Session, *, now: datetime, limit: int) -> int:
    """Turn up to ``limit`` undispatched events into deliveries; returns the events done.

    Each event goes to the subscriptions of its program that are active, want its type and
    were created before it. The events are locked (``FOR UPDATE``, no skipping): workers fan
    out one after the other, so a member's deliveries are made in the order of their events.
    """
    rows = session.execute(
        select(
            _events.c.id,
            _events.c.program_id,
            _events.c.type,
            _events.c.member_id,
            _events.c.created_at,
        )
        .where(_events.c.dispatched_at.is_(None))
        .order_by(_events.c.id)
        .limit(limit)
        .with_for_update()
    ).all()
    if not rows:
        return 0
    programs = {row.program_id for row in rows}
    receivers = session.execute(
        select(
            _subscriptions.c.id,
            _subscriptions.c.program_id,
            _subscriptions.c.event_types,
            _subscriptions.c.created_at,
        ).where(
            _subscriptions.c.program_id.in_(programs),
            _subscriptions.c.active.is_(True),
            _subscriptions.c.deleted_at.is_(None),
        )
    ).all()
    deliveries = [
        _new_delivery(event.program_id, receiver.id, event, now)
        for event in rows
        for receiver in receivers
        if receiver.program_id == event.program_id
        and receiver.created_at <= event.created_at
        and (not receiver.event_types or event.type in receiver.event_types)
    ]
    if deliveries:
        session.execute(insert(_deliveries), deliveries)
    session.execute(
        update(_events).where(_events.c.id.in_([row.id for row in rows])).values(dispatched_at=now)
    )
    return len(rows)


def _new_delivery(
    program_id: int, subscription_id: int, event: Any, now: datetime
) -> dict[str, Any]:
    """A delivery row of ``event`` (an outbox row with ``id`` and ``member_id``), due at ``now``."""
    return {
        "program_id": program_id,
        "subscription_id": subscription_id,
        "event_id": event.id,
        "member_id": event.member_id,
        "status": DeliveryStatus.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _due(now: datetime) -> Any:
    """Deliveries that may be attempted at ``now``: open, due, unclaimed, first of their member.

    A delivery waits while an earlier event of the same member is still open for the same
    subscription (given up or delivered ones no longer hold it back).
    """
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        earlier.subscription_id == _deliveries.c.subscription_id,
        earlier.member_id == _deliveries.c.member_id,
        earlier.event_id < _deliveries.c.event_id,
        earlier.status.in_(OPEN),
    )
    return and_(
        _deliveries.c.status.in_(OPEN),
        _deliveries.c.next_attempt_at <= now,
        or_(_deliveries.c.claimed_until.is_(None), _deliveries.c.claimed_until <= now),
        _subscriptions.c.active.is_(True),
        _subscriptions.c.deleted_at.is_(None),
        or_(_deliveries.c.member_id.is_(None), ~blocked),
    )


def any_due(session: Session, *, now: datetime) -> bool:
    """Tell whether some delivery may be attempted at ``now``."""
    found = session.execute(
        select(_deliveries.c.id)
        .join(_subscriptions, _subscriptions.c.id == _deliveries.c.subscription_id)
        .where(_due(now))
        .limit(1)
    ).first()
    return found is not None


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed by one worker until ``claimed_until``, with what it sends."""

    delivery_id: int
    token: str
    program_id: int
    subscription_id: int
    url: str
    secret_enc: str
    attempts: int
    retry_from: datetime | None
    program_code: str
    event_id: str
    type: str
    member_no: str | None
    occurred_at: datetime
    payload: dict[str, Any]


def claim(
    session: Session, *, now: datetime, until: datetime, token: str, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries for one worker (``token``) until ``until``.

    PostgreSQL locks the rows with ``SKIP LOCKED``, so concurrent workers claim different
    deliveries; on SQLite writers are serialized anyway. Keep the transaction short: the
    HTTP requests happen after it commits.
    """
    ids = list(
        session.scalars(
            select(_deliveries.c.id)
            .join(_subscriptions, _subscriptions.c.id == _deliveries.c.subscription_id)
            .where(_due(now))
            .order_by(_deliveries.c.event_id, _deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=_deliveries)
        )
    )
    if not ids:
        return []
    session.execute(
        update(_deliveries)
        .where(_deliveries.c.id.in_(ids))
        .values(claimed_until=until, claim_token=token)
    )
    rows = session.execute(
        select(
            _deliveries.c.id,
            _deliveries.c.program_id,
            _deliveries.c.subscription_id,
            _deliveries.c.attempts,
            _deliveries.c.retry_from,
            _subscriptions.c.url,
            _subscriptions.c.secret_enc,
            _programs.c.code,
            _events.c.event_id,
            _events.c.type,
            _members.c.member_no,
            _events.c.occurred_at,
            _events.c.payload,
        )
        .join(_subscriptions, _subscriptions.c.id == _deliveries.c.subscription_id)
        .join(_events, _events.c.id == _deliveries.c.event_id)
        .join(_programs, _programs.c.id == _deliveries.c.program_id)
        .outerjoin(_members, _members.c.id == _deliveries.c.member_id)
        .where(_deliveries.c.id.in_(ids))
        .order_by(_deliveries.c.event_id, _deliveries.c.id)
    ).all()
    return [
        Claimed(
            delivery_id=row.id,
            token=token,
            program_id=row.program_id,
            subscription_id=row.subscription_id,
            url=row.url,
            secret_enc=row.secret_enc,
            attempts=row.attempts,
            retry_from=row.retry_from,
            program_code=row.code,
            event_id=row.event_id,
            type=row.type,
            member_no=row.member_no,
            occurred_at=row.occurred_at,
            payload=dict(row.payload or {}),
        )
        for row in rows
    ]


def release(session: Session, *, delivery_ids: list[int], token: str) -> None:
    """Hand claimed deliveries back unattempted, so any worker may claim them at once."""
    session.execute(
        update(_deliveries)
        .where(_deliveries.c.id.in_(delivery_ids), _deliveries.c.claim_token == token)
        .values(claimed_until=None, claim_token=None)
    )


def record_attempt(
    session: Session,
    *,
    claimed: Claimed,
    at: datetime,
    status: DeliveryStatus,
    next_attempt_at: datetime | None,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
) -> bool:
    """Write an attempt's result if the claim still holds; returns whether it did.

    A claim lost (the lease ran out and another worker claimed the delivery) records
    nothing: that worker's attempt counts instead.
    """
    attempt = claimed.attempts + 1
    values: dict[str, Any] = {
        "status": status,
        "attempts": attempt,
        "claimed_until": None,
        "claim_token": None,
        "last_status_code": status_code,
        "last_latency_ms": latency_ms,
        "last_error": error,
        "retry_from": claimed.retry_from or at,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status == DeliveryStatus.delivered:
        values["delivered_at"] = at
    held = (
        session.connection()
        .execute(
            update(_deliveries)
            .where(
                _deliveries.c.id == claimed.delivery_id,
                _deliveries.c.claim_token == claimed.token,
            )
            .values(**values)
        )
        .rowcount
    )
    if not held:
        return False
    session.execute(
        insert(_attempts),
        {
            "delivery_id": claimed.delivery_id,
            "attempt": attempt,
            "at": at,
            "status_code": status_code,
            "latency_ms": latency_ms,
            "error": error,
        },
    )
    return True


def reset_failure_run(session: Session, *, subscription_id: int) -> None:
    """A delivered attempt ends the subscription's run of failures."""
    session.execute(
        update(_subscriptions)
        .where(_subscriptions.c.id == subscription_id, _subscriptions.c.failure_run != 0)
        .values(failure_run=0)
    )


def count_failure(
    session: Session, *, subscription_id: int, now: datetime, disable_after: int
) -> bool:
    """Count a failed attempt; switch the subscription off when the run reaches the limit.

    Returns whether this failure switched it off (one conditional UPDATE decides, so two
    workers cannot both report it).
    """
    session.execute(
        update(_subscriptions)
        .where(_subscriptions.c.id == subscription_id)
        .values(failure_run=_subscriptions.c.failure_run + 1)
    )
    disabled = (
        session.connection()
        .execute(
            update(_subscriptions)
            .where(
                _subscriptions.c.id == subscription_id,
                _subscriptions.c.active.is_(True),
                _subscriptions.c.failure_run >= disable_after,
            )
            .values(active=False, disabled_reason=DisabledReason.failures, disabled_at=now)
        )
        .rowcount
    )
    return bool(disabled)


def deliveries(
    session: Session,
    *,
    program_id: int,
    subscription_id: int,
    status: str | None,
    offset: int,
    limit: int,
) -> tuple[int, list[Any]]:
    """Return (total, page) of a subscription's deliveries, newest event first."""
    where = [
        _deliveries.c.program_id == program_id,
        _deliveries.c.subscription_id == subscription_id,
    ]
    if status is not None:
        where.append(_deliveries.c.status == status)
    total = session.scalar(select(func.count()).select_from(_deliveries).where(*where))
    rows = session.execute(
        _delivery_columns()
        .where(*where)
        .order_by(_deliveries.c.event_id.desc(), _deliveries.c.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return int(total or 0), list(rows)


def _delivery_columns() -> Any:
    return (
        select(
            _deliveries.c.id,
            _deliveries.c.subscription_id,
            _events.c.event_id,
            _events.c.type,
            _members.c.member_no,
            _deliveries.c.status,
            _deliveries.c.attempts,
            _deliveries.c.next_attempt_at,
            _deliveries.c.last_status_code,
            _deliveries.c.last_latency_ms,
            _deliveries.c.last_error,
            _deliveries.c.created_at,
            _deliveries.c.delivered_at,
        )
        .select_from(_deliveries)
        .join(_events, _events.c.id == _deliveries.c.event_id)
        .outerjoin(_members, _members.c.id == _deliveries.c.member_id)
    )


def delivery(session: Session, *, program_id: int, delivery_id: int) -> Any | None:
    """Return one delivery of the program as :func:`deliveries` lists it."""
    return session.execute(
        _delivery_columns().where(
            _deliveries.c.program_id == program_id, _deliveries.c.id == delivery_id
        )
    ).one_or_none()


def attempts(session: Session, *, delivery_id: int) -> list[Any]:
    """Return a delivery's attempts, first first."""
    return list(
        session.execute(
            select(
                _attempts.c.attempt,
                _attempts.c.at,
                _attempts.c.status_code,
                _attempts.c.latency_ms,
                _attempts.c.error,
            )
            .where(_attempts.c.delivery_id == delivery_id)
            .order_by(_attempts.c.attempt, _attempts.c.id)
        )
    )


def reopen(session: Session, *, delivery_ids: list[int], now: datetime) -> None:
    """Make deliveries due again at ``now`` with a fresh retry window (an operator's replay)."""
    if delivery_ids:
        session.execute(
            update(_deliveries)
            .where(_deliveries.c.id.in_(delivery_ids))
            .values(
                status=DeliveryStatus.pending,
                next_attempt_at=now,
                retry_from=None,
                claimed_until=None,
                claim_token=None,
            )
        )


def event(session: Session, *, program_id: int, event_id: str) -> Any | None:
    """Return an outbox event of the program by its public id."""
    return session.execute(
        select(_events.c.id, _events.c.type, _events.c.member_id).where(
            _events.c.program_id == program_id, _events.c.event_id == event_id
        )
    ).one_or_none()


def replay_event(
    session: Session,
    *,
    program_id: int,
    event: Any,
    subscription_ids: list[int],
    now: datetime,
) -> list[int]:
    """Make an event due again to each subscription named; returns the deliveries."""
    existing = dict(
        session.execute(
            select(_deliveries.c.subscription_id, _deliveries.c.id).where(
                _deliveries.c.event_id == event.id,
                _deliveries.c.subscription_id.in_(subscription_ids),
            )
        ).all()
    )
    missing = [sid for sid in subscription_ids if sid not in existing]
    if missing:
        session.execute(
            insert(_deliveries),
            [_new_delivery(program_id, sid, event, now) for sid in missing],
        )
    reopen(session, delivery_ids=list(existing.values()), now=now)
    return sorted(
        session.scalars(
            select(_deliveries.c.id).where(
                _deliveries.c.event_id == event.id,
                _deliveries.c.subscription_id.in_(subscription_ids),
            )
        )
    )


#: Deliveries that are over: nothing more is sent unless an operator replays them.
FINISHED = (DeliveryStatus.delivered, DeliveryStatus.given_up)


def _purgeable(program_id: int, before: datetime) -> Any:
    """Events of the program fanned out before ``before`` with no delivery still to be tried."""
    open_delivery = exists().where(
        _deliveries.c.event_id == _events.c.id, _deliveries.c.status.in_(OPEN)
    )
    return and_(
        _events.c.program_id == program_id,
        _events.c.dispatched_at.is_not(None),
        _events.c.dispatched_at < before,
        _events.c.created_at < before,
        ~open_delivery,
    )


def count_purgeable(session: Session, *, program_id: int, before: datetime) -> tuple[int, int, int]:
    """Return how many (events, deliveries, attempts) a purge before ``before`` would delete."""
    events = select(_events.c.id).where(_purgeable(program_id, before)).subquery()
    deliveries = select(_deliveries.c.id).where(_deliveries.c.event_id.in_(select(events.c.id)))
    counted = session.execute(
        select(
            select(func.count()).select_from(events).scalar_subquery(),
            select(func.count()).select_from(deliveries.subquery()).scalar_subquery(),
            select(func.count())
            .select_from(_attempts)
            .where(_attempts.c.delivery_id.in_(deliveries))
            .scalar_subquery(),
        )
    ).one()
    return int(counted[0]), int(counted[1]), int(counted[2])


@dataclass(frozen=True)
class PurgeKey:
    """Where a purge has got to: the last event looked at, in (dispatched_at, id) order."""

    dispatched_at: datetime
    id: int


def purgeable(
    session: Session, *, program_id: int, before: datetime, after: PurgeKey | None, limit: int
) -> list[PurgeKey]:
    """Lock and return up to ``limit`` events a purge may delete, oldest dispatched first.

    The events are locked (``FOR UPDATE``): a replay that would give one a new delivery waits
    for the purge's transaction.
    """
    where = [_purgeable(program_id, before)]
    if after is not None:
        where.append(
            or_(
                _events.c.dispatched_at > after.dispatched_at,
                and_(_events.c.dispatched_at == after.dispatched_at, _events.c.id > after.id),
            )
        )
    rows = session.execute(
        select(_events.c.dispatched_at, _events.c.id)
        .where(*where)
        .order_by(_events.c.dispatched_at, _events.c.id)
        .limit(limit)
        .with_for_update(of=_events)
    ).all()
    return [PurgeKey(row.dispatched_at, row.id) for row in rows]


def purge_events(session: Session, *, event_ids: list[int]) -> tuple[int, int, int]:
    """Delete the finished deliveries of ``event_ids``, their attempts, then the events.

    Returns the (events, deliveries, attempts) deleted. The deliveries are locked and their
    status checked again as they are deleted, and an event goes only with its last delivery:
    one replayed meanwhile (open again) keeps its event, whatever was looked at before.
    """
    finished = and_(_deliveries.c.event_id.in_(event_ids), _deliveries.c.status.in_(FINISHED))
    session.execute(select(_deliveries.c.id).where(finished).with_for_update()).all()
    connection = session.connection()
    attempts = connection.execute(
        delete(_attempts).where(
            _attempts.c.delivery_id.in_(select(_deliveries.c.id).where(finished))
        )
    ).rowcount
    deliveries = connection.execute(delete(_deliveries).where(finished)).rowcount
    left = exists().where(_deliveries.c.event_id == _events.c.id)
    events = connection.execute(delete(_events).where(_events.c.id.in_(event_ids), ~left)).rowcount
    return events, deliveries, attempts
