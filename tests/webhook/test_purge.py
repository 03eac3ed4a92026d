"""The daily purge of the outbox: old events with nothing left to deliver go, with their
deliveries and attempts, in batches; an event with a delivery still to try is never touched.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from random import Random

import pytest
import time_machine
from sqlalchemy import func, select
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.events import EventType, OutboxEvent, emit
from memberkit.kit.time import utcnow
from memberkit.program import service as program_service
from memberkit.program.models import Program
from memberkit.webhook import service, tasks
from memberkit.webhook.models import WebhookAttempt, WebhookDelivery
from tests.rest import table_contents
from tests.webhook.receiver import receiving
from tests.webhook.test_delivery import register, rename, subscribe

runner = CliRunner()


def events(database: Database) -> dict[str, int]:
    """Each outbox event's public id, with its number of deliveries."""
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(OutboxEvent.event_id, func.count(WebhookDelivery.id))
            .outerjoin(WebhookDelivery, WebhookDelivery.event_id == OutboxEvent.id)
            .group_by(OutboxEvent.event_id)
        ).all()
    return {row[0]: row[1] for row in rows}


def event_ids(database: Database) -> list[str]:
    with database.session_scope(read_only=True) as session:
        return list(session.scalars(select(OutboxEvent.event_id).order_by(OutboxEvent.id)))


def counts(database: Database) -> tuple[int, int, int]:
    with database.session_scope(read_only=True) as session:
        return (
            session.scalar(select(func.count()).select_from(OutboxEvent)) or 0,
            session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0,
            session.scalar(select(func.count()).select_from(WebhookAttempt)) or 0,
        )


def jobs(*args: str) -> str:
    result = runner.invoke(app, ["jobs", "purge-outbox", *args])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if not line.startswith("Purging")]
    return " ".join(" ".join(lines).split())


def test_old_events_with_nothing_left_to_deliver_are_purged_and_no_others(
    database: Database, clock: time_machine.Coordinates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")
    monkeypatch.setattr(settings, "webhook_retry_hours", 1)
    start = utcnow()
    # given an event no subscription wanted (it happened before there was one) ...
    register(database, "13700137000")
    with receiving() as ok, receiving(lambda _n: 503) as down:
        subscribe(database, ok.url, "member.registered", "member.updated")
        subscribe(database, down.url, "member.updated")
        # ... one delivered, one the operator will replay, one delivered here and given up
        # there after an hour and a half of worker passes ...
        first = register(database, "13800138000")
        second = register(database, "13900139000")
        rename(database, second, "张三")
        for minutes in range(0, 90, 10):
            service.deliver_due(database, now=start + timedelta(minutes=minutes), rng=Random(5))
        [none, delivered, replayed, given_up] = event_ids(database)
        # ... one 29 days later, too recent to go, and the replay of an old one
        clock.move_to(start + timedelta(days=29))
        rename(database, first, "李四")
        service.deliver_due(database, now=utcnow())
        recent = event_ids(database)[-1]
        with database.session_scope() as session:
            [row] = [
                d
                for d in service.deliveries(session, program_id=1, subscription_id=1)[1]
                if d.event_id == replayed
            ]
            service.replay(session, program_id=1, subscription_id=1, delivery_id=row.id)
        assert events(database) == {none: 0, delivered: 1, replayed: 1, given_up: 2, recent: 2}
        assert statuses(database) == {
            (delivered, 1): "delivered",
            (replayed, 1): "pending",
            (given_up, 1): "delivered",
            (given_up, 2): "given_up",
            (recent, 1): "delivered",
            (recent, 2): "failed",
        }
        assert attempts_of(database, delivered, given_up) == 1 + 1 + 7

        # when the purge runs 31 days on, dry first
        clock.move_to(start + timedelta(days=31))
        before = table_contents(database)
        assert jobs("--dry-run") == (
            "Dry run: 3 outbox events older than 30 days would be purged, with 3 deliveries "
            "and 9 attempts."
        )
        assert table_contents(database) == before
        assert jobs() == (
            "3 outbox events older than 30 days purged, with 3 deliveries and 9 attempts."
        )

        # then the replayed event (its delivery open again) and the recent one are left whole
        assert events(database) == {replayed: 1, recent: 2}
        assert counts(database) == (2, 3, 3)
        after = table_contents(database)
        for name, rows in after.items():  # nothing else changed, nothing kept was changed
            if name in PURGED:
                assert all(row in before[name] for row in rows), name
            else:
                assert rows == before[name], name
        assert jobs() == (
            "0 outbox events older than 30 days purged, with 0 deliveries and 0 attempts."
        )
        # and the replay still goes out
        service.deliver_due(database, now=utcnow())
    assert [r.event_id for r in ok.received].count(replayed) == 2
    assert statuses(database)[(replayed, 1)] == "delivered"


PURGED = ("outbox_events", "webhook_deliveries", "webhook_attempts")


def statuses(database: Database) -> dict[tuple[str, int], str]:
    """Each delivery's status, by (event id, subscription id)."""
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(
                OutboxEvent.event_id, WebhookDelivery.subscription_id, WebhookDelivery.status
            ).join(WebhookDelivery, WebhookDelivery.event_id == OutboxEvent.id)
        ).all()
    return {(row[0], row[1]): row[2] for row in rows}


def attempts_of(database: Database, *event_ids: str) -> int:
    with database.session_scope(read_only=True) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(WebhookAttempt)
                .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
                .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .where(OutboxEvent.event_id.in_(event_ids))
            )
            or 0
        )


def test_an_event_not_fanned_out_yet_is_kept_however_old(
    database: Database, clock: time_machine.Coordinates
) -> None:
    # given an event the worker never came to (it is switched off), now 40 days old
    start = utcnow()
    register(database, "13800138000")
    clock.move_to(start + timedelta(days=40))
    program = _program(database)
    # when the purge runs, then it is kept; the worker sends it when it comes
    done = tasks.purge_outbox(database, program=program, as_of=utcnow())
    assert [str(s) for s in done.said] == [
        "0 outbox events older than 30 days purged, with 0 deliveries and 0 attempts."
    ]
    assert counts(database) == (1, 0, 0)
    with receiving() as receiver:
        subscribe(database, receiver.url)
        assert service.deliver_due(database, now=utcnow()).dispatched == 1
    assert counts(database) == (1, 0, 0)  # created before the subscription: no delivery owed


def delivered(database: Database, members: int) -> None:
    """Register ``members`` members and deliver their registrations to one receiver."""
    with receiving() as receiver:
        subscribe(database, receiver.url)
        for n in range(members):
            register(database, f"138001{n:05d}")
        service.deliver_due(database, now=utcnow())
    assert counts(database) == (members, members, members)


def test_the_purge_goes_in_batches_and_reports_progress(
    database: Database, clock: time_machine.Coordinates
) -> None:
    start = utcnow()
    delivered(database, 5)
    seen: list[tuple[int, int]] = []
    done = service.purge_outbox(
        database,
        program_id=1,
        before=start + timedelta(days=1),
        batch=2,
        progress=lambda n, total: seen.append((n, total)),
    )
    assert done == service.Purge(events=5, deliveries=5, attempts=5)
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert counts(database) == (0, 0, 0)


def test_each_program_purges_its_own_events_only(database: Database) -> None:
    # given a delivered event of the default program and one of another (no subscription)
    delivered(database, 1)
    with database.session_scope() as session:
        shadow = Program(
            code="shadow",
            name="Shadow",
            currency="CNY",
            points_name="积分",
            points_per_currency_unit=100,
        )
        session.add(shadow)
        session.flush()
        emit(
            session,
            program_id=shadow.id,
            type=EventType.member_updated,
            member_id=None,
            occurred_at=utcnow(),
            payload={},
        )
    service.deliver_due(database, now=utcnow())
    later = utcnow() + timedelta(days=1)
    # when the other program's purge runs, then only its event goes
    done = service.purge_outbox(database, program_id=shadow.id, before=later)
    assert done == service.Purge(events=1)
    assert counts(database) == (1, 1, 1)
    assert service.purge_outbox(database, program_id=1, before=later) == service.Purge(1, 1, 1)
    assert counts(database) == (0, 0, 0)


def _program(database: Database) -> program_service.ProgramConfig:
    with database.session_scope(read_only=True) as session:
        return program_service.get(session)


def test_a_replay_racing_the_purge_is_either_refused_or_kept(
    database: Database, clock: time_machine.Coordinates
) -> None:
    # given 40 old delivered events
    start = utcnow()
    delivered(database, 40)
    with database.session_scope(read_only=True) as session:
        ids = list(session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))
    assert len(ids) == 40
    clock.move_to(start + timedelta(days=31))
    # when an operator replays them one by one while the purge runs in small batches
    replayed: list[int] = []
    refused: list[int] = []

    def replay() -> None:
        for delivery_id in reversed(ids):
            try:
                with database.session_scope() as session:
                    service.replay(
                        session, program_id=1, subscription_id=1, delivery_id=delivery_id
                    )
                replayed.append(delivery_id)
            except service.DeliveryNotFound:
                refused.append(delivery_id)

    operator = threading.Thread(target=replay)
    operator.start()
    done = service.purge_outbox(
        database, program_id=1, before=utcnow() - timedelta(days=30), batch=3
    )
    operator.join(60)
    # then every replay that was answered is still there, open, with its event; the others
    # were refused because the purge had taken them
    with database.session_scope(read_only=True) as session:
        left = dict(
            session.execute(
                select(WebhookDelivery.id, WebhookDelivery.status).join(
                    OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id
                )
            ).all()
        )
    assert left == {delivery_id: "pending" for delivery_id in replayed}
    assert sorted(replayed + refused) == ids
    assert done.deliveries == 40 - len(replayed)
    assert counts(database) == (len(replayed), len(replayed), len(replayed))
