"""Requests at the same time: duplicates answered once, races refused with a code, never a 500."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from anyio import to_thread
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from memberkit.config import settings
from memberkit.db import Database, DatabaseBusy, WriteQueue, is_busy
from memberkit.kit import crypto
from memberkit.kit.time import iso, utcnow
from memberkit.member.models import Member
from memberkit.member.rules import normalize_phone
from tests.rest import Api, order_body, table_contents


def waiting_for_locks(database: Database) -> int:
    """How many PostgreSQL backends of this database wait for a lock."""
    with database.engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def run_behind_a_lock(
    database: Database, hold: Callable[[Any], None], count: int, send: Callable[[int], Any]
) -> list[Any]:
    """Hold a lock (``hold`` writes in an open transaction), start ``count`` requests that need
    it, wait until every one of them waits for it, then commit and return their responses."""
    session = database.sessions()
    try:
        hold(session)
        with ThreadPoolExecutor(count) as pool:
            futures = [pool.submit(send, n) for n in range(count)]
            deadline = time.monotonic() + 30
            while waiting_for_locks(database) < count:
                assert time.monotonic() < deadline, "the requests never met the lock"
                assert not any(f.done() for f in futures), [f.result() for f in futures]
                time.sleep(0.02)
            session.commit()
            return [f.result(timeout=60) for f in futures]
    finally:
        session.close()


def lock_member(member_no: str) -> Callable[[Any], None]:
    def hold(session: Any) -> None:
        session.execute(
            text("SELECT id FROM members WHERE member_no = :no FOR UPDATE"), {"no": member_no}
        )

    return hold


@pytest.mark.postgres_only
def test_identical_orders_posted_at_once_get_one_201_and_then_200s(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given four tills sending the same order at once, all held up by the member's lock
    body = order_body(
        member["member_no"], "POS-DUP-1", occurred_at=iso(utcnow() - timedelta(hours=1))
    )
    responses = run_behind_a_lock(
        database,
        lock_member(member["member_no"]),
        4,
        lambda _n: admin.post("/api/v1/orders", body),
    )
    # then one is created and the other three are answered with its response
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201], [
        r.text for r in responses
    ]
    assert all(r.json() == responses[0].json() for r in responses)
    assert admin.get(f"/api/v1/members/{member['member_no']}").json()["points_balance"] == 60


@pytest.mark.postgres_only
def test_two_members_changed_to_one_phone_at_once_get_a_409(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a second member, and the first one's phone being changed in an open transaction
    other = admin.post("/api/v1/members", {"phone": "13900139000"}).json()
    wanted = "13700137000"
    index = crypto.blind_index(normalize_phone(wanted) or "")

    def hold(session: Any) -> None:
        session.execute(
            update(Member).where(Member.member_no == member["member_no"]).values(phone_index=index)
        )

    # when the second member is given the same phone meanwhile
    [response] = run_behind_a_lock(
        database,
        hold,
        1,
        lambda _n: admin.patch(f"/api/v1/members/{other['member_no']}", {"phone": wanted}),
    )
    # then the later change is refused with a code
    assert (response.status_code, response.json()["code"]) == (409, "member_exists"), response.text
    assert response.json()["detail"] == f"该手机号已注册会员（{member['member_no']}）。"
    assert admin.get(f"/api/v1/members/{other['member_no']}").json()["phone"] == "13900139000"


@pytest.mark.postgres_only
def test_identical_registrations_at_once_get_one_201_and_a_200(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given two identical registrations with one key, held up together (a new member's row
    # needs its program's row, locked here) until both have found no earlier registration
    def hold(session: Any) -> None:
        session.execute(text("SELECT id FROM programs FOR UPDATE"))

    body = {"phone": "13600136000", "name": "李四"}
    responses = run_behind_a_lock(
        database,
        hold,
        2,
        lambda _n: admin.post("/api/v1/members", body, **{"Idempotency-Key": "R-1"}),
    )
    # then one registers the member and the other is answered with the same response
    assert sorted(r.status_code for r in responses) == [200, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    again = admin.post("/api/v1/members", body)
    assert (again.status_code, again.json()["code"]) == (409, "member_exists")


def test_reads_do_not_wait_for_a_writer(
    admin: Api, member: dict[str, Any], database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a writer holding the write lock (on SQLite; a row lock on PostgreSQL)
    monkeypatch.setattr(settings, "lock_timeout", 2.0)
    writer = database.sessions()
    try:
        writer.execute(
            update(Member).where(Member.member_no == member["member_no"]).values(gender="male")
        )
        # when the member, their points and the program are read meanwhile
        start = time.monotonic()
        reads = [
            admin.get(f"/api/v1/members/{member['member_no']}"),
            admin.get(f"/api/v1/members/{member['member_no']}/points"),
            admin.get("/api/v1/program"),
            admin.client.get("/health"),
        ]
        elapsed = time.monotonic() - start
    finally:
        writer.rollback()
        writer.close()
    # then every read answers at once, showing the last committed state
    assert [r.status_code for r in reads] == [200, 200, 200, 200]
    assert reads[0].json()["gender"] is None
    assert elapsed < 1.0


def test_a_write_that_waits_too_long_gets_503_with_retry_after(
    admin: Api, member: dict[str, Any], database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers on other members do not wait for each other")
    # given another writer holding the write lock for longer than requests wait
    monkeypatch.setattr(settings, "lock_timeout", 0.2)
    before = table_contents(database)
    writer = database.sessions()
    try:
        writer.execute(text("SELECT 1"))
        # when an order is posted meanwhile
        body = order_body(
            member["member_no"], "POS-BUSY", occurred_at=iso(utcnow() - timedelta(hours=1))
        )
        busy = admin.post("/api/v1/orders", body, **{"Accept-Language": "en"})
    finally:
        writer.rollback()
        writer.close()
    # then it is told to retry, and nothing changed; a retry then succeeds
    assert (busy.status_code, busy.json()["code"]) == (503, "database_busy"), busy.text
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["detail"] == (
        "The database is busy; nothing was changed. Please retry in a moment."
    )
    assert table_contents(database) == before
    assert admin.post("/api/v1/orders", body).status_code == 201


def test_driver_lock_errors_count_as_busy() -> None:
    locked = OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
    other = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert (is_busy(locked), is_busy(other), is_busy(DatabaseBusy())) == (True, False, True)


def test_the_pool_holds_a_connection_for_every_request_thread(
    client: Any, database: Database
) -> None:
    pool: Any = database.engine.pool
    tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == settings.threads == 40
    assert pool.size() + pool._max_overflow == settings.threads


def test_writers_are_served_in_arrival_order() -> None:
    # given a held queue and five writers arriving one after another
    queue = WriteQueue()
    assert queue.acquire(1.0)
    served: list[int] = []

    def writer(n: int) -> None:
        assert queue.acquire(10.0)
        served.append(n)
        queue.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        while len(queue._waiters) < n + 1:
            time.sleep(0.001)
    # when the holder releases
    queue.release()
    for thread in threads:
        thread.join(10)
    # then they were served first come, first served, and the queue is free again
    assert served == [0, 1, 2, 3, 4]
    assert queue.acquire(0.01)


def test_a_writer_that_times_out_leaves_the_queue() -> None:
    queue = WriteQueue()
    assert queue.acquire(1.0)
    assert not queue.acquire(0.05)
    assert len(queue._waiters) == 0
    queue.release()
    assert queue.acquire(0.01)
