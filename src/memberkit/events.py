"""Domain events and the outbox they are written to.

A use case appends its events to ``outbox_events`` in its own transaction (:func:`emit`), so an
event exists exactly when the change it tells of is committed: nothing is published for a
rolled-back transaction. Workers read the outbox after commit and deliver it (webhooks now;
SMS, e-mail and WeChat messages later); the order path never waits for a receiver.

An event names its member by id; deliveries show the member's card number (``member_no``),
never personal data. Payloads hold what an integrator needs, in the API's terms: money as
``"60.00"``, points as integers, times as ISO 8601 with offset.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from memberkit.db import Base, table
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class EventType(StrEnum):
    """What happened; receivers subscribe to these names."""

    member_registered = "member.registered"
    member_updated = "member.updated"
    order_posted = "order.posted"
    order_refunded = "order.refunded"
    wallet_recharged = "wallet.recharged"
    wallet_refunded = "wallet.refunded"
    benefit_used = "benefit.used"
    benefit_use_undone = "benefit.use_undone"
    reward_redeemed = "reward.redeemed"
    reward_fulfilled = "reward.fulfilled"
    reward_cancelled = "reward.cancelled"
    coupon_issued = "coupon.issued"
    coupon_revoked = "coupon.revoked"
    points_adjusted = "points.adjusted"
    points_expired = "points.expired"
    tier_changed = "tier.changed"
    tier_notice = "tier.notice"
    growth_decayed = "growth.decayed"


class OutboxEvent(Base):
    """One domain event, written in the transaction of the change it tells of.

    ``id`` orders events (per member it is the commit order: the member's lock serializes
    them); ``event_id`` is the public id receivers de-duplicate by. ``dispatched_at`` is set
    once the event has been fanned out to the subscriptions of that moment.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_dispatched_at", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    type: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


_INSERT = insert(table(OutboxEvent))
#: Where :func:`collected` queues the events told inside it, in the session's ``info``.
_PENDING = "memberkit.outbox.pending"


def _row(
    *,
    program_id: int,
    type: EventType,
    member_id: int | None,
    occurred_at: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "program_id": program_id,
        "type": str(type),
        "member_id": member_id,
        "occurred_at": occurred_at,
        "payload": payload,
        "created_at": now,
        "dispatched_at": None,
    }


def emit(
    session: Session,
    *,
    program_id: int,
    type: EventType,
    member_id: int | None,
    occurred_at: datetime,
    payload: dict[str, Any],
) -> str:
    """Append one event to the outbox in the caller's transaction; returns its public id.

    Inside :func:`collected` (a member event in the pipeline) the event is queued and written
    with the others of the block; elsewhere it is one INSERT at once.
    """
    row = _row(
        program_id=program_id,
        type=type,
        member_id=member_id,
        occurred_at=occurred_at,
        payload=payload,
        now=utcnow(),
    )
    _append(session, [row])
    return str(row["event_id"])


def emit_many(
    session: Session,
    *,
    program_id: int,
    type: EventType,
    events: Iterable[tuple[int | None, datetime, dict[str, Any]]],
) -> int:
    """Append events of one type, given as (member id, time, payload), in one INSERT."""
    now = utcnow()
    rows = [
        _row(
            program_id=program_id,
            type=type,
            member_id=member_id,
            occurred_at=occurred_at,
            payload=payload,
            now=now,
        )
        for member_id, occurred_at, payload in events
    ]
    _append(session, rows)
    return len(rows)


def _append(session: Session, rows: list[dict[str, Any]]) -> None:
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.extend(rows)
    elif rows:
        session.connection().execute(_INSERT, rows)


@contextmanager
def collected(session: Session) -> Iterator[None]:
    """Queue the events told inside the block; write them in one INSERT when it ends.

    The member-event pipeline runs each event in such a block: the events it tells (points
    expired, tier changed, order posted …) reach the outbox together, in the order told, at
    the end of the event; if the block raises, none is written. Blocks do not nest: an inner
    one leaves its events to the outer.
    """
    if _PENDING in session.info:
        yield
        return
    session.info[_PENDING] = []
    try:
        yield
        rows = session.info[_PENDING]
        if rows:
            session.connection().execute(_INSERT, rows)
    finally:
        del session.info[_PENDING]
