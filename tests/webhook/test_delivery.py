"""Delivering the outbox to a real receiver: signed, retried, in order per member, replayable."""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from memberkit.config import Settings, settings
from memberkit.db import Database
from memberkit.events import OutboxEvent
from memberkit.kit.time import utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.program import service as program_service
from memberkit.webhook import service
from memberkit.webhook.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from tests.webhook.receiver import Trickler, receiving, verify

#: Later than any retry wait (at most an hour): every failed delivery is due again.
LATER = timedelta(hours=1, minutes=1)


def subscribe(database: Database, url: str, *types: str) -> service.Subscription:
    with database.session_scope() as session:
        program = program_service.get(session)
        return service.subscribe(session, program_id=program.id, url=url, event_types=types)


def register(database: Database, phone: str) -> Member:
    with database.session_scope() as session:
        program = program_service.get(session)
        return member_service.register(session, program_id=program.id, phone=phone)


def rename(database: Database, member: Member, name: str) -> None:
    with database.session_scope() as session:
        found = member_service.find(
            session, program_id=member.program_id, member_no=member.member_no, lock=True
        )
        member_service.change(session, member=found, changes={"name": name})


def deliveries(database: Database) -> list[tuple[str, int, int | None, str | None]]:
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(
                WebhookDelivery.status,
                WebhookDelivery.attempts,
                WebhookDelivery.last_status_code,
                WebhookDelivery.last_error,
            ).order_by(WebhookDelivery.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def attempt_codes(database: Database) -> list[tuple[int, int | None]]:
    with database.session_scope(read_only=True) as session:
        rows = session.execute(
            select(WebhookAttempt.attempt, WebhookAttempt.status_code).order_by(WebhookAttempt.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def drain(database: Database, now: datetime) -> service.Pass:
    """Run passes at ``now`` until one finds nothing to do; return the last busy one."""
    last = service.Pass()
    for _ in range(100):
        done = service.deliver_due(database, now=now, rng=Random(3))
        if not done.busy:
            return last
        last = done
    raise AssertionError("the outbox did not drain")


def test_a_delivery_is_signed_and_names_the_member_by_card_number(database: Database) -> None:
    with receiving() as receiver:
        subscription = subscribe(database, receiver.url)
        member = register(database, "13800138000")
        done = service.deliver_due(database, now=utcnow())
    assert (done.dispatched, done.attempted, done.delivered) == (1, 1, 1)
    [got] = receiver.received
    assert verify(subscription.secret or "", got)
    assert not verify("whsec_another", got)
    with database.session_scope(read_only=True) as session:
        event = session.scalars(select(OutboxEvent)).one()
    body = got.json
    assert body == {
        "id": event.event_id,
        "type": "member.registered",
        "program": "default",
        "member_no": member.member_no,
        "occurred_at": body["occurred_at"],
        "data": {
            "store_code": None,
            "channel": "store",
            "referrer_member_no": None,
            "tier": "regular",
            "tags": [],
        },
    }
    assert got.headers["memberkit-event-id"] == event.event_id
    assert got.headers["memberkit-event-type"] == "member.registered"
    assert got.headers["content-type"] == "application/json"
    assert "13800138000" not in got.body.decode()
    assert deliveries(database) == [("delivered", 1, 200, None)]


def test_a_receiver_failing_five_times_gets_the_event_exactly_once_more(
    database: Database,
) -> None:
    with receiving(lambda n: 500 if n < 5 else 200) as receiver:
        subscribe(database, receiver.url)
        register(database, "13800138000")
        now = utcnow()
        service.deliver_due(database, now=now)
        assert deliveries(database) == [("failed", 1, 500, "HTTP 500")]
        service.deliver_due(database, now=now + timedelta(seconds=4))  # the retry is not due
        assert len(receiver.received) == 1
        for _ in range(5):
            now += LATER
            service.deliver_due(database, now=now)
        for _ in range(3):
            now += LATER
            service.deliver_due(database, now=now)  # delivered: nothing more is sent
    assert len(receiver.received) == 6
    assert len({r.event_id for r in receiver.received}) == 1
    assert deliveries(database) == [("delivered", 6, 200, None)]
    assert attempt_codes(database) == [(1, 500), (2, 500), (3, 500), (4, 500), (5, 500), (6, 200)]


def test_a_members_later_event_waits_for_the_earlier_one(database: Database) -> None:
    # given a receiver that fails the first request only
    with receiving(lambda n: 500 if n == 0 else 200) as receiver:
        subscribe(database, receiver.url)
        first = register(database, "13800138000")
        other = register(database, "13900139000")
        rename(database, first, "张三")
        now = utcnow()
        # when the first member's registration fails, the other member is not held up
        drain(database, now)
        got = [(r.json["type"], r.json["member_no"]) for r in receiver.received]
        assert got == [
            ("member.registered", first.member_no),
            ("member.registered", other.member_no),
        ]
        # but the first member's update waits until the registration went through
        drain(database, now + LATER)
        got = [(r.json["type"], r.json["member_no"]) for r in receiver.received]
    assert got == [
        ("member.registered", first.member_no),
        ("member.registered", other.member_no),
        ("member.registered", first.member_no),
        ("member.updated", first.member_no),
    ]


def test_a_delivery_given_up_after_the_window_no_longer_holds_back_later_ones(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_retry_hours", 1)
    with receiving(lambda n: 503 if n < 100 else 200) as receiver:
        subscribe(database, receiver.url)
        member = register(database, "13800138000")
        rename(database, member, "张三")
        now = utcnow()
        for _ in range(9):
            service.deliver_due(database, now=now, rng=Random(5))
            now += timedelta(minutes=10)
    types = receiver.types()
    # every ten minutes for an hour, then given up: the update goes next, in its turn
    assert types == ["member.registered"] * 7 + ["member.updated"] * 2
    assert deliveries(database) == [
        ("given_up", 7, 503, "HTTP 503"),
        ("failed", 2, 503, "HTTP 503"),
    ]


def test_a_redirect_is_a_failure_and_is_not_followed(database: Database) -> None:
    with receiving() as elsewhere, receiving(lambda n: (302, {"Location": elsewhere.url})) as hop:
        subscribe(database, hop.url)
        register(database, "13800138000")
        service.deliver_due(database, now=utcnow())
        assert len(hop.received) == 1
        assert elsewhere.received == []
    assert deliveries(database) == [("failed", 1, 302, "HTTP 302: redirects are not followed")]


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_deadline_seconds", 0.5)
    with receiving(hold=True) as slow:
        subscribe(database, slow.url)
        register(database, "13800138000")
        started = time.monotonic()
        service.deliver_due(database, now=utcnow())
        assert time.monotonic() - started < 2
    assert deliveries(database) == [
        ("failed", 1, None, "deadline: no complete answer within 0.5 s")
    ]


def test_nothing_listens_is_a_failure_recorded_with_the_error(database: Database) -> None:
    with receiving() as gone:
        url = gone.url
    subscribe(database, url)
    register(database, "13800138000")
    service.deliver_due(database, now=utcnow())
    [(status, attempts, code, error)] = deliveries(database)
    assert (status, attempts, code) == ("failed", 1, None)
    assert error is not None and error.startswith("ConnectError")


def test_a_run_of_failures_switches_the_subscription_off_with_a_notice(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(settings, "webhook_disable_after", 3)
    answers = {"code": 500}
    with receiving(lambda n: answers["code"]) as receiver:
        subscription = subscribe(database, receiver.url)
        register(database, "13800138000")
        now = utcnow()
        with caplog.at_level(logging.WARNING, logger="memberkit.webhook"):
            for _ in range(6):
                service.deliver_due(database, now=now)
                now += LATER
        assert len(receiver.received) == 3  # switched off after the third failure
        assert f"webhook subscription {subscription.id}" in caplog.text
        assert "disabled after 3 consecutive failed attempts" in caplog.text
        with database.session_scope(read_only=True) as session:
            off = service.get(session, program_id=1, subscription_id=subscription.id)
        assert (off.active, off.failure_run, off.disabled_reason) == (False, 3, "failures")
        assert off.disabled_at is not None
        # when an operator switches it on again, the delivery still open goes out
        answers["code"] = 200
        with database.session_scope() as session:
            on = service.change(session, program_id=1, subscription_id=subscription.id, active=True)
        assert (on.active, on.failure_run, on.disabled_reason, on.disabled_at) == (
            True,
            0,
            None,
            None,
        )
        service.deliver_due(database, now=now)
    assert len(receiver.received) == 4
    assert deliveries(database) == [("delivered", 4, 200, None)]


def test_an_operator_replays_a_delivered_event_with_the_same_id(database: Database) -> None:
    with receiving() as receiver:
        subscription = subscribe(database, receiver.url)
        register(database, "13800138000")
        now = utcnow()
        service.deliver_due(database, now=now)
        with database.session_scope() as session:
            [delivery] = service.deliveries(session, program_id=1, subscription_id=subscription.id)[
                1
            ]
            replayed = service.replay(
                session, program_id=1, subscription_id=subscription.id, delivery_id=delivery.id
            )
        assert (replayed.status, replayed.attempts) == ("pending", 1)
        service.deliver_due(database, now=now + timedelta(seconds=1))
        with database.session_scope() as session:
            again = service.replay_event(session, program_id=1, event_id=delivery.event_id)
        assert again == [delivery.id]
        service.deliver_due(database, now=now + timedelta(seconds=2))
    assert [r.event_id for r in receiver.received] == [delivery.event_id] * 3
    assert deliveries(database) == [("delivered", 3, 200, None)]


def test_a_subscription_gets_only_the_types_it_asked_for_and_only_new_events(
    database: Database,
) -> None:
    with receiving() as receiver:
        member = register(database, "13800138000")  # before the subscription: not sent
        subscribe(database, receiver.url, "member.updated")
        register(database, "13900139000")  # a type it did not ask for
        rename(database, member, "张三")
        drain(database, utcnow())
    assert [(r.json["type"], r.json["member_no"]) for r in receiver.received] == [
        ("member.updated", member.member_no)
    ]
    with database.session_scope(read_only=True) as session:
        undispatched = session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.dispatched_at.is_(None))
        ).all()
    assert undispatched == []


def test_an_inactive_or_deleted_subscription_gets_nothing(database: Database) -> None:
    with receiving() as receiver:
        off = subscribe(database, receiver.url)
        gone = subscribe(database, receiver.url)
        with database.session_scope() as session:
            service.change(session, program_id=1, subscription_id=off.id, active=False)
            service.delete(session, program_id=1, subscription_id=gone.id)
        register(database, "13800138000")
        drain(database, utcnow())
    assert receiver.received == []
    assert deliveries(database) == []


@pytest.mark.postgres_only
def test_two_workers_deliver_each_attempt_once(database: Database) -> None:
    # given 40 members with three events each, and two workers with their own connections
    with receiving() as receiver:
        subscribe(database, receiver.url)
        for n in range(40):
            member = register(database, f"1380013{n:04d}")
            rename(database, member, "甲")
            rename(database, member, "乙")
        workers = [Database(database.url), Database(database.url)]
        start = threading.Barrier(2)
        passes: list[int] = [0, 0]

        def work(number: int) -> None:
            start.wait()
            idle = 0
            while idle < 3:
                done = service.deliver_due(workers[number], now=utcnow(), limit=7)
                passes[number] += done.attempted
                idle = 0 if done.busy else idle + 1

        threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for worker in workers:
            worker.dispose()
    ids = [r.event_id for r in receiver.received]
    assert len(ids) == len(set(ids)) == 120
    assert passes[0] > 0 and passes[1] > 0  # both took a share
    assert sum(passes) == 120
    assert deliveries(database) == [("delivered", 1, 200, None)] * 120
    assert len(attempt_codes(database)) == 120
    # and each member's events arrived in order
    by_member: dict[str, list[str]] = {}
    for received in receiver.received:
        by_member.setdefault(received.json["member_no"], []).append(received.json["type"])
    assert set(map(tuple, by_member.values())) == {
        ("member.registered", "member.updated", "member.updated")
    }


def test_claims_too_short_for_an_attempt_are_handed_back_unsent(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_lease_seconds", 1)  # below one attempt's timeouts
    with receiving() as receiver:
        subscribe(database, receiver.url)
        register(database, "13800138000")
        done = service.deliver_due(database, now=utcnow())
    assert (done.dispatched, done.attempted) == (1, 0)
    assert receiver.received == []
    with database.session_scope(read_only=True) as session:
        row = session.execute(
            select(WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.claimed_until)
        ).one()
    assert tuple(row) == ("pending", 0, None)


def test_a_secret_that_does_not_decrypt_is_a_recorded_failure(database: Database) -> None:
    with receiving() as receiver:
        first = subscribe(database, receiver.url)
        second = subscribe(database, receiver.url, "tier.changed")
        with database.session_scope() as session:
            rows = {s.id: s for s in session.scalars(select(WebhookSubscription)).all()}
            rows[first.id].secret_enc = rows[second.id].secret_enc  # bound to another row
        register(database, "13800138000")
        service.deliver_due(database, now=utcnow())
    assert receiver.received == []
    assert deliveries(database) == [
        ("failed", 1, None, "the signing secret cannot be decrypted (another secret key?)")
    ]


def test_a_trickling_receiver_fails_at_the_deadline_and_is_not_sent_twice(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a receiver answering a byte every 0.2 s, a 1.5 s deadline and a 4 s lease
    monkeypatch.setattr(settings, "webhook_deadline_seconds", 1.5)
    monkeypatch.setattr(settings, "webhook_lease_seconds", 4)
    with Trickler(pause=0.2) as trickler:
        subscribe(database, trickler.url)
        register(database, "13800138000")
        # when one worker makes a pass while a second one keeps looking for work, through the
        # attempt and past its deadline
        passes: list[service.Pass] = []
        worker = threading.Thread(
            target=lambda: passes.append(service.deliver_due(database, now=utcnow()))
        )
        started = time.monotonic()
        worker.start()
        while worker.is_alive() or time.monotonic() - started < 2.5:
            passes.append(service.deliver_due(database, now=utcnow()))
            time.sleep(0.1)
        worker.join()
    # then one of them made the attempt, which failed at its deadline; the other never had
    # it to send
    assert sorted((p.attempted, p.failed) for p in passes if p.attempted) == [(1, 1)]
    assert trickler.connections == 1
    assert deliveries(database) == [
        ("failed", 1, None, "deadline: no complete answer within 1.5 s")
    ]
    with database.session_scope(read_only=True) as session:
        latency = session.scalars(select(WebhookAttempt.latency_ms)).one()
    assert 1500 <= latency < 1800


def test_the_lease_must_outlast_the_deadline() -> None:
    with pytest.raises(ValueError, match="webhook_lease_seconds must exceed"):
        Settings(webhook_deadline_seconds=30, webhook_lease_seconds=30)
    with pytest.raises(ValueError, match="not a network"):
        Settings(webhook_allow_networks="10.0.0.0/8, intranet")
    allowed = Settings(webhook_allow_networks=" 10.0.0.0/8,::1 ").webhook_allowed_networks
    assert allowed == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


def test_a_name_resolving_to_a_blocked_address_is_refused_at_send_time(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given no network allowed: a name is accepted (it is resolved at each attempt), and an
    # address was accepted while its network was allowed
    with receiving() as receiver:
        by_address = subscribe(database, receiver.url)
        monkeypatch.setattr(settings, "webhook_allow_networks", "")
        by_name = subscribe(database, f"http://localhost:{receiver.port}/hooks")
        register(database, "13800138000")
        # when the worker comes to them
        done = service.deliver_due(database, now=utcnow())
    # then neither is sent, no connection is even made, and each attempt says why
    assert (done.attempted, done.failed) == (2, 2)
    assert (receiver.connections, receiver.received) == (0, [])
    with database.session_scope(read_only=True) as session:
        rows = session.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.last_error))
        errors = {row.subscription_id: row.last_error for row in rows}
    assert errors == {
        by_address.id: "blocked_address: 127.0.0.1 (loopback)",
        by_name.id: "blocked_address: localhost resolves to 127.0.0.1 (loopback)",
    }


def test_each_attempt_is_signed_with_the_time_it_is_sent(
    database: Database, clock: time_machine.Coordinates
) -> None:
    # given an event, and a receiver that fails the first attempt and takes 1.1 s to answer
    # the second subscription's
    def answer(n: int) -> int:
        if n == 1:
            time.sleep(1.1)
        return 500 if n == 0 else 200

    with receiving(answer) as receiver:
        subscription = subscribe(database, receiver.url)
        register(database, "13800138000")
        with database.session_scope(read_only=True) as session:
            created = session.scalars(select(OutboxEvent.created_at)).one()
        # when the first attempt is made an hour later, and the retry two hours after that
        clock.move_to(created + timedelta(hours=1))
        service.deliver_due(database, now=utcnow())
        clock.move_to(created + timedelta(hours=3))
        service.deliver_due(database, now=utcnow())
    # then each was stamped (and signed) as it left, not when the event was made
    first, retry = receiver.received
    stamps = [int(r.headers["memberkit-timestamp"]) for r in (first, retry)]
    assert [stamp - int(created.timestamp()) for stamp in stamps] == [3600, 3 * 3600]
    assert all(abs(r.at - stamp) < 1 for r, stamp in zip((first, retry), stamps, strict=True))
    assert first.body == retry.body
    assert first.headers["memberkit-signature"] != retry.headers["memberkit-signature"]
    assert all(verify(subscription.secret or "", r) for r in (first, retry))


def test_deliveries_of_one_pass_are_each_stamped_when_they_leave(database: Database) -> None:
    # given two subscriptions to one slow receiver (1.1 s an answer)
    with receiving(lambda _n: (time.sleep(1.1), 200)[1]) as receiver:
        subscribe(database, receiver.url)
        subscribe(database, receiver.url)
        register(database, "13800138000")
        done = service.deliver_due(database, now=utcnow())
    # when one pass sends both, then the second is stamped a second later than the first
    assert done.delivered == 2
    first, second = (int(r.headers["memberkit-timestamp"]) for r in receiver.received)
    assert second - first >= 1


def readme_verify() -> Callable[..., bool]:
    """The verification recipe of README.md's Webhooks section, as integrators copy it."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("## Webhooks") :]
    code = section[
        section.index("```python\n") + 10 : section.index("```\n", section.index("```python"))
    ]
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), scope)
    return scope["verify"]  # type: ignore[no-any-return]


def test_the_readme_recipe_accepts_a_fresh_delivery_and_refuses_a_stale_replay(
    database: Database, clock: time_machine.Coordinates
) -> None:
    check = readme_verify()
    with receiving() as receiver:
        subscription = subscribe(database, receiver.url)
        register(database, "13800138000")
        service.deliver_due(database, now=utcnow())
    [got] = receiver.received
    secret = subscription.secret or ""
    sent = datetime.fromtimestamp(int(got.headers["memberkit-timestamp"]), UTC)
    assert check(secret, got.raw_headers, got.body)
    assert not check("whsec_another", got.raw_headers, got.body)
    assert not check(secret, got.raw_headers, got.body.replace(b"store", b"shop"))
    # a copy replayed within five minutes passes (the event id de-duplicates it) ...
    clock.move_to(sent + timedelta(minutes=4, seconds=59))
    assert check(secret, got.raw_headers, got.body)
    # ... one replayed later is refused, as is one whose timestamp was changed to look fresh
    clock.move_to(sent + timedelta(minutes=5, seconds=2))
    assert not check(secret, got.raw_headers, got.body)
    forged = {**dict(got.raw_headers.items()), "Memberkit-Timestamp": str(int(time.time()))}
    assert not check(secret, forged, got.body)
    assert not check(secret, {**forged, "Memberkit-Timestamp": "soon"}, got.body)


def test_an_envelope_shows_its_time_in_the_programs_timezone(database: Database) -> None:
    # given a program in Los Angeles, and a member registered there
    with database.session_scope() as session:
        program_service.change(
            session,
            program=program_service.get(session),
            section=program_service.section_named("calendar"),
            value={"timezone": "America/Los_Angeles"},
        )
    with receiving() as receiver:
        subscribe(database, receiver.url)
        register(database, "13800138000")

        # when the worker, which serves every program, delivers the registration
        service.deliver_due(database, now=utcnow())

    # then the envelope's time carries Los Angeles's offset, as that program's API shows it
    [got] = receiver.received
    with database.session_scope(read_only=True) as session:
        event = session.scalars(select(OutboxEvent)).one()
    shown = datetime.fromisoformat(got.json["occurred_at"])
    assert shown == event.occurred_at
    assert shown.utcoffset() in (timedelta(hours=-8), timedelta(hours=-7))
