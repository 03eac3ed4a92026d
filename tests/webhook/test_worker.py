"""``memberkit worker`` as its own process: killed mid-delivery and restarted, it loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from memberkit.db import Database
from memberkit.webhook.models import WebhookDelivery
from tests.webhook.conftest import RECEIVERS
from tests.webhook.receiver import receiving, verify
from tests.webhook.test_delivery import register, subscribe

#: The worker runs in another process, on the real clock.
pytestmark = pytest.mark.real_clock


def start_worker(database: Database, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": database.url,
        "MEMBERKIT_SECRET_KEY": "test-secret-key-not-for-production",
        "MEMBERKIT_DATA_DIR": str(tmp_path / "data"),
        "MEMBERKIT_WEBHOOK_LEASE_SECONDS": "5",
        "MEMBERKIT_WEBHOOK_CONNECT_TIMEOUT": "1",
        "MEMBERKIT_WEBHOOK_DEADLINE_SECONDS": "3",
        "MEMBERKIT_WEBHOOK_ALLOW_NETWORKS": RECEIVERS,
        "MEMBERKIT_WEBHOOK_POLL_SECONDS": "0.2",
        "MEMBERKIT_DEFAULT_LOCALE": "en",
    }
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "memberkit"), "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def delivery(database: Database) -> tuple[str, int, bool]:
    with database.session_scope(read_only=True) as session:
        row = session.execute(
            select(WebhookDelivery.status, WebhookDelivery.attempts, WebhookDelivery.claimed_until)
        ).one()
    return row.status, row.attempts, row.claimed_until is not None


def wait_for(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_worker_killed_mid_delivery_loses_nothing(database: Database, tmp_path: Path) -> None:
    # given a receiver that holds the first request unanswered, and an event for it
    with receiving(hold=True) as receiver:
        subscription = subscribe(database, receiver.url)
        member = register(database, "13800138000")
        first = start_worker(database, tmp_path)
        try:
            # when the worker is killed while the receiver holds its request
            if not receiver.arrived.wait(30):
                first.kill()
                raise AssertionError(f"the worker sent nothing: {first.communicate()[0]!r}")
            first.kill()
            first.wait(10)
        finally:
            first.kill()
        receiver.release()
        # then the delivery is still claimed, not counted as an attempt
        assert delivery(database) == ("pending", 0, True)

        # and a new worker sends it again once the dead worker's lease has run out
        second = start_worker(database, tmp_path)
        try:
            wait_for(lambda: delivery(database)[0] == "delivered")
            second.send_signal(signal.SIGTERM)
            output, _ = second.communicate(timeout=20)
        finally:
            second.kill()
    assert second.returncode == 0
    assert "Outbox worker stopped." in output.decode()
    assert delivery(database) == ("delivered", 1, False)
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body  # the same event, same id
    assert all(verify(subscription.secret or "", got) for got in receiver.received)
    assert receiver.received[1].json["member_no"] == member.member_no
