"""Domain events are written to the outbox in the business transaction, and only then."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from memberkit import events
from memberkit.db import Database
from memberkit.events import EventType, OutboxEvent
from memberkit.member import service as member_service
from memberkit.program import service as program_service


def outbox(database: Database) -> list[tuple[str, int | None, dict[str, object]]]:
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(OutboxEvent.type, OutboxEvent.member_id, OutboxEvent.payload).order_by(
                OutboxEvent.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_event_types_are_exactly_those_integrators_subscribe_to() -> None:
    assert [str(t) for t in EventType] == [
        "member.registered",
        "member.updated",
        "order.posted",
        "order.refunded",
        "wallet.recharged",
        "wallet.refunded",
        "benefit.used",
        "benefit.use_undone",
        "reward.redeemed",
        "reward.fulfilled",
        "reward.cancelled",
        "coupon.issued",
        "coupon.revoked",
        "points.adjusted",
        "points.expired",
        "tier.changed",
        "tier.notice",
        "growth.decayed",
    ]


def test_an_event_is_one_row_with_a_fresh_unguessable_id(database: Database) -> None:
    at = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    with database.session_scope() as session:
        program = program_service.get(session)
        first = events.emit(
            session,
            program_id=program.id,
            type=EventType.points_adjusted,
            member_id=None,
            occurred_at=at,
            payload={"points": 5},
        )
        second = events.emit(
            session,
            program_id=program.id,
            type=EventType.points_adjusted,
            member_id=None,
            occurred_at=at,
            payload={"points": 6},
        )
    assert len(first) == len(second) == 32 and first != second
    int(first, 16)  # hex
    with database.session_scope(read_only=True) as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert [(r.event_id, r.type, r.occurred_at, r.payload, r.dispatched_at) for r in rows] == [
            (first, "points.adjusted", at, {"points": 5}, None),
            (second, "points.adjusted", at, {"points": 6}, None),
        ]


def test_a_registration_emits_one_event_without_personal_data(database: Database) -> None:
    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.register(
            session, program_id=program.id, phone="13800138000", name="张三", tags=["vip"]
        )
    assert outbox(database) == [
        (
            "member.registered",
            member.id,
            {
                "store_code": None,
                "channel": "store",
                "referrer_member_no": None,
                "tier": "regular",
                "tags": ["vip"],
            },
        )
    ]


def test_nothing_is_written_for_a_rolled_back_transaction(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session_scope() as session:
        program = program_service.get(session)
        member_service.register(session, program_id=program.id, phone="13800138000")
        assert len(outbox(database)) == 0  # not visible to others before commit either
        raise RuntimeError("the use case fails after the event was appended")
    assert outbox(database) == []


def test_a_profile_change_names_the_fields_changed_and_a_repeat_emits_nothing(
    database: Database,
) -> None:
    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.register(session, program_id=program.id, phone="13800138000")
    changes = {"name": "李四", "phone": "13900139000", "tags": ["b", "a"]}
    for _ in range(2):
        with database.session_scope() as session:
            found = member_service.find(
                session, program_id=program.id, member_no=member.member_no, lock=True
            )
            member_service.change(session, member=found, changes=changes)
    assert outbox(database)[1:] == [
        (
            "member.updated",
            member.id,
            {"changed": ["name", "phone", "tags"], "status": "active", "tags": ["a", "b"]},
        )
    ]
