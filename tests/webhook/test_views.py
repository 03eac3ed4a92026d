"""The webhooks pages: subscribe (secret shown once), switch off and on, the log, replay."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.staff.rules import Actor
from memberkit.webhook import service
from memberkit.webhook.models import WebhookDelivery, WebhookSubscription
from tests.admin.conftest import cheap_hashes, staff
from tests.admin.test_views import csrf, sign_in
from tests.auth.test_views import form_key
from tests.program.test_views import english
from tests.rest import table_contents
from tests.webhook.receiver import receiving, verify
from tests.webhook.test_delivery import register

__all__ = ["cheap_hashes", "staff"]


def _actions(database: Database) -> list[str]:
    with database.session_scope(read_only=True) as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("webhook.%"))
                .order_by(AuditEntry.id)
            )
        )


def test_an_admin_subscribes_sees_the_log_replays_and_switches_it_off(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/webhooks").text
    with receiving() as receiver:
        data = {
            "csrf_token": csrf(page),
            "form_key": form_key(page),
            "url": receiver.url,
            "description": "CRM <script>x</script>",
        }
        made = client.post("/admin/webhooks", data=data)
        assert made.status_code == 201
        secret = re.search(r'id="new-secret">(whsec_[^<]+)<', made.text)
        assert secret is not None
        assert "<script>x</script>" not in made.text
        again = client.post("/admin/webhooks", data=data)  # a double submit
        assert 'id="webhook-repeated"' in again.text and secret.group(1) not in again.text
        with database.session_scope(read_only=True) as session:
            [subscription] = session.scalars(select(WebhookSubscription))
        register(database, "13800138000")
        service.deliver_due(database, now=utcnow())
        [got] = receiver.received
        assert verify(secret.group(1), got)

        log = client.get(f"/admin/webhooks/{subscription.id}")
        assert log.status_code == 200
        with database.session_scope(read_only=True) as session:
            [delivery] = session.scalars(select(WebhookDelivery))
        assert f'id="delivery-{delivery.id}"' in log.text and "delivered" in log.text
        replayed = client.post(
            f"/admin/webhooks/{subscription.id}/deliveries/{delivery.id}/replay",
            data={"csrf_token": csrf(page)},
            follow_redirects=False,
        )
        assert replayed.status_code == 303
        service.deliver_due(database, now=utcnow())
        assert len(receiver.received) == 2
        assert receiver.received[1].event_id == got.event_id

    off = client.post(
        f"/admin/webhooks/{subscription.id}/active",
        data={"csrf_token": csrf(page), "active": "no"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    with database.session_scope(read_only=True) as session:
        assert session.get_one(WebhookSubscription, subscription.id).active is False
    assert _actions(database) == ["webhook.create", "webhook.replay", "webhook.disable"]


def test_a_blocked_or_bad_receiver_is_marked_beside_the_field_and_nothing_changes(
    client: TestClient, database: Database, staff: dict[str, Actor]
) -> None:
    sign_in(client, "owner")
    english(client)
    page = client.get("/admin/webhooks").text
    contents = table_contents(database)
    for url, types, where, description in (
        ("", [], "url", ""),
        ("http://169.254.169.254/latest", [], "url", ""),
        ("ftp://example.com/x", [], "url", ""),
        ("https://example.com/" + "x" * 5000, [], "url", ""),
        ("https://example.com/hook", ["no.such.event"], "event_types", ""),
        ("<script>alert(1)</script>", [], "url", ""),
        ("https://example.com/hook", [], "description", "crm\u202ehook"),
        ("https://example.com/hook", [], "description", "crm\nhook"),
    ):
        data = {
            "csrf_token": csrf(page),
            "form_key": form_key(page),
            "url": url,
            "event_types": types,
            "description": description,
        }
        refused = client.post("/admin/webhooks", data=data)
        assert 400 <= refused.status_code < 500, url
        assert f'id="error-{where}"' in refused.text, url
        assert "<script>alert(1)</script>" not in refused.text
    assert client.get("/admin/webhooks/999").status_code == 404
    forged = client.post("/admin/webhooks/1/active", data={"csrf_token": "x", "active": "no"})
    assert forged.status_code == 403
    assert table_contents(database) == contents


def test_store_roles_may_not_see_webhooks(client: TestClient, staff: dict[str, Actor]) -> None:
    sign_in(client, "cashier")
    assert client.get("/admin/webhooks").status_code == 403
