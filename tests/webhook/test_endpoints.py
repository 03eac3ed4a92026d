"""The webhook API, and every domain event arriving at a real receiver, signed."""

from __future__ import annotations

from datetime import datetime
from random import Random
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from memberkit.app import create_app
from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.events import EventType
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from memberkit.kit.time import utcnow
from memberkit.webhook import service
from memberkit.webhook.models import WebhookSubscription
from tests.rest import Api, make_key, order_body, table_contents
from tests.webhook.receiver import receiving, verify


def create(admin: Api, body: dict[str, Any], key: str = "w-1") -> Any:
    return admin.post("/api/v1/webhooks", body, **{"Idempotency-Key": key})


def drain(database: Database) -> None:
    for _ in range(100):
        if not service.deliver_due(database, now=utcnow(), rng=Random(1)).busy:
            return
    raise AssertionError("the outbox did not drain")


def on_day(clock: time_machine.Coordinates, day: str) -> None:
    clock.move_to(datetime.fromisoformat(f"{day}T12:00:00+08:00"))


def jobs(*args: str) -> None:
    result = CliRunner().invoke(app, ["jobs", *args])
    assert result.exit_code == 0, result.output


def cup_taken(external_id: str, status: str) -> dict[str, Any]:
    """A ``reward.*`` payload of one cup redeemed online (no store)."""
    return {
        "external_id": external_id,
        "reward": "cup",
        "kind": "goods",
        "quantity": 1,
        "points": 50,
        "cash": "0.00",
        "status": status,
        "store_code": None,
    }


def test_every_event_type_arrives_signed_in_the_members_order(
    admin: Api, store: dict[str, Any], database: Database, clock: time_machine.Coordinates
) -> None:
    with receiving() as receiver:
        created = create(admin, {"url": receiver.url, "description": "CRM"})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        registered = admin.post("/api/v1/members", {"phone": "13800138000", "store_code": "SH001"})
        no = registered.json()["member_no"]
        assert admin.patch(f"/api/v1/members/{no}", {"name": "张三"}).status_code == 200
        body = order_body(
            no,
            "O-1",
            lines=[{"sku": "M1", "quantity": 1, "unit_price": "900.00", "amount": "900.00"}],
            payments=[{"method": "wechat", "amount": "900.00"}],
        )
        assert admin.post("/api/v1/orders", body).json()["tier"]["code"] == "gold"
        recharge = {
            "external_id": "R-1",
            "amount": "100.00",
            "method": "cash",
            "occurred_at": "2026-11-22T11:00:00+08:00",
        }
        assert admin.post(f"/api/v1/members/{no}/wallet/recharges", recharge).status_code == 201
        adjusted = admin.post(
            f"/api/v1/members/{no}/points/adjustments",
            {"points": 50, "reason": "goodwill"},
            **{"Idempotency-Key": "a-1"},
        )
        assert adjusted.status_code == 201, adjusted.text
        refund = {"external_id": "RF-1", "order_external_id": "O-1", "amount": "100.00"}
        assert admin.post("/api/v1/refunds", refund).status_code == 201
        paid_back = {"external_id": "WR-1", "occurred_at": "2026-11-23T11:00:00+08:00"}
        refunded = admin.post(f"/api/v1/members/{no}/wallet/recharges/R-1/refunds", paid_back)
        assert refunded.status_code == 201, refunded.text
        parking = {"code": "free_parking", "kind": "parking", "name": "免费停车"}
        assert admin.post("/api/v1/benefits", parking).status_code == 201
        grants = [{"tier": "gold", "quota": 2}]
        put = admin.client.put(
            "/api/v1/benefits/free_parking/grants", json=grants, headers=admin.headers
        )
        assert put.status_code == 200, put.text
        used = admin.post(
            f"/api/v1/members/{no}/benefits/free_parking/uses",
            {"external_id": "B-1", "store_code": "SH001"},
        )
        assert used.status_code == 201, used.text
        undone = admin.post(f"/api/v1/members/{no}/benefit-uses/B-1/undo", {"reason": "误操作"})
        assert undone.status_code == 201, undone.text
        cash = {
            "code": "cash10",
            "name": "代金券",
            "kind": "cash",
            "off": "10.00",
            "valid_days": 30,
        }
        assert admin.post("/api/v1/coupon-templates", cash).status_code == 201
        issued = admin.post(
            "/api/v1/coupon-templates/cash10/issues", {"member_no": no, "external_id": "C-1"}
        )
        assert issued.status_code == 201, issued.text
        coupon = issued.json()
        revoked = admin.post(f"/api/v1/coupons/{issued.json()['code']}/revoke", {"reason": "错发"})
        assert revoked.status_code == 201, revoked.text
        cup = {"code": "cup", "kind": "goods", "name": "杯子", "points": 50, "stock": 5}
        assert admin.post("/api/v1/rewards", cup).status_code == 201
        redemptions = []
        for external_id in ("RD-1", "RD-2"):
            made = admin.post(
                f"/api/v1/members/{no}/redemptions", {"reward": "cup", "external_id": external_id}
            )
            assert made.status_code == 201, made.text
            redemptions.append(made.json())
            if external_id == "RD-1":  # cancelled: its points go back to their lots
                path = f"/api/v1/redemptions/{external_id}/cancel"
                cancelled = admin.post(path, {"reason": "不要了"})
                assert cancelled.status_code == 201, cancelled.text
        path = "/api/v1/redemptions/RD-2/fulfil"
        fulfilled = admin.post(path, {"store_code": "SH001"})
        assert fulfilled.status_code == 201, fulfilled.text
        on_day(clock, "2026-12-02")
        jobs("review-tiers", "--as-of", "2026-12-02")  # a grace notice
        on_day(clock, "2027-01-01")
        jobs("review-tiers", "--as-of", "2027-01-01")  # gold to silver
        rules = {**DEFAULT_GROWTH_RULES, "decay": {"after_days": 365, "share": "0.2"}}
        assert admin.client.put("/api/v1/growth", json=rules, headers=admin.headers).is_success
        on_day(clock, "2027-11-23")
        jobs("decay-growth", "--as-of", "2027-11-23")
        on_day(clock, "2028-01-02")
        jobs("expire-points", "--as-of", "2028-01-02")
        drain(database)

    got = receiver.received
    assert all(verify(secret, r) for r in got)
    assert {r.json["member_no"] for r in got} == {no}
    assert all(r.json["id"] == r.event_id and r.json["program"] == "default" for r in got)
    assert [r.json["type"] for r in got] == receiver.types()
    assert [r.json["type"] for r in got] == [
        "member.registered",
        "member.updated",
        "tier.changed",
        "order.posted",
        "wallet.recharged",
        "points.adjusted",
        "order.refunded",
        "wallet.refunded",
        "benefit.used",
        "benefit.use_undone",
        "coupon.issued",
        "coupon.revoked",
        "reward.redeemed",
        "reward.cancelled",
        "reward.redeemed",
        "reward.fulfilled",
        "tier.notice",
        "tier.changed",
        "growth.decayed",
        "points.expired",
    ]
    fixed = {2: "2026-11-22T10:00:00+08:00", 3: "2026-11-22T10:00:00+08:00"}
    fixed |= {4: "2026-11-22T11:00:00+08:00", 7: "2026-11-23T11:00:00+08:00"}
    fixed |= {16: "2026-12-02T00:00:00+08:00", 17: "2027-01-01T00:00:00+08:00"}
    fixed |= {18: "2027-11-23T00:00:00+08:00", 19: "2028-01-01T00:00:00+08:00"}
    assert {n: got[n].json["occurred_at"] for n in fixed} == fixed
    assert {r.json["type"] for r in got} == {str(t) for t in EventType}
    data = [r.json["data"] for r in got]
    ids = {"order_id": data[3]["order_id"]}
    assert data == [
        {
            "store_code": "SH001",
            "channel": "store",
            "referrer_member_no": None,
            "tier": "regular",
            "tags": [],
        },
        {"changed": ["name"], "status": "active", "tags": []},
        {
            "from_tier": "regular",
            "to_tier": "gold",
            "reason": "upgrade",
            "since": "2026-11-22T10:00:00+08:00",
            "review_at": "2027-01-01T00:00:00+08:00",
            **ids,
        },
        {
            **ids,
            "external_id": "O-1",
            "member_no": no,
            "store_code": "SH001",
            "channel": "store",
            "total_amount": "900.00",
            "eligible_amount": "900.00",
            "points_paid": 0,
            "points_earned": 900,
            "growth_earned": 900,
            "points_balance": 900,
            "growth_balance": 900,
            "wallet_principal_paid": "0.00",
            "wallet_bonus_paid": "0.00",
            "tier": "gold",
            "upgraded": True,
        },
        {
            "external_id": "R-1",
            "amount": "100.00",
            "bonus": "0.00",
            "method": "cash",
            "store_code": None,
            "wallet": {"principal": "100.00", "bonus": "0.00", "total": "100.00"},
            "tier": "gold",
            "upgraded": False,
        },
        {
            "transaction_id": adjusted.json()["transaction_id"],
            "points": 50,
            "reason": "goodwill",
            "points_balance": 950,
        },
        {
            "refund_id": data[6]["refund_id"],
            "external_id": "RF-1",
            "order_external_id": "O-1",
            "member_no": no,
            "amount": "100.00",
            "points_reversed": 100,
            "growth_reversed": 100,
            "points_returned": 0,
            "points_already_expired": 0,
            "points_balance": 850,
            "growth_balance": 800,
            "points_debt": 0,
            "wallet_principal_returned": "0.00",
            "wallet_bonus_returned": "0.00",
            "tier": "gold",
            "reverted": False,
        },
        {
            "external_id": "WR-1",
            "recharge_external_id": "R-1",
            "amount": "100.00",
            "bonus_forfeited": "0.00",
            "method": "cash",
            "store_code": None,
            "wallet": {"principal": "0.00", "bonus": "0.00", "total": "0.00"},
        },
        {
            "external_id": "B-1",
            "benefit": "free_parking",
            "quantity": 1,
            "store_code": "SH001",
            "tier": "gold",
            "left": 1,
        },
        {"external_id": "B-1", "benefit": "free_parking", "quantity": 1, "reason": "误操作"},
        {
            "code": coupon["code"],
            "template": "cash10",
            "kind": "cash",
            "source": "hand",
            "valid_from": coupon["valid_from"],
            "valid_until": "2026-12-23T00:00:00+08:00",
        },
        {"code": coupon["code"], "template": "cash10", "reason": "错发", "by": "api:test-admin"},
        {**cup_taken("RD-1", "pending"), "points_balance": 800},
        {**cup_taken("RD-1", "cancelled"), "reason": "不要了", "points_balance": 850},
        {**cup_taken("RD-2", "pending"), "points_balance": 800},
        {**cup_taken("RD-2", "fulfilled"), "pickup_store_code": "SH001"},
        {"tier": "gold", "expected_tier": "silver", "review_at": "2027-01-01T00:00:00+08:00"},
        {
            "from_tier": "gold",
            "to_tier": "silver",
            "reason": "downgrade",
            "since": "2027-01-01T00:00:00+08:00",
            "review_at": "2028-01-01T00:00:00+08:00",
            "order_id": None,
        },
        {"growth_decayed": 160, "growth_balance": 640, "since": "2026-11-22"},
        {
            # the cancelled cup's 50 points came back with their lot's own expiry
            "points": 800,
            "lots": [
                {"points": 700, "expires_at": "2028-01-01T00:00:00+08:00"},
                {"points": 50, "expires_at": "2028-01-01T00:00:00+08:00"},
                {"points": 50, "expires_at": "2028-01-01T00:00:00+08:00"},
            ],
            "points_balance": 0,
        },
    ]
    assert "张三" not in str([r.body.decode() for r in got])
    assert "13800138000" not in str([r.body.decode() for r in got])


def test_the_secret_is_shown_once_and_a_repeat_returns_the_first_response(
    admin: Api, database: Database
) -> None:
    first = create(admin, {"url": "https://crm.example.com/hooks", "events": ["tier.changed"]})
    assert first.status_code == 201, first.text
    out = first.json()
    assert out == {
        "id": out["id"],
        "url": "https://crm.example.com/hooks",
        "description": "",
        "events": ["tier.changed"],
        "active": True,
        "failure_run": 0,
        "disabled_reason": None,
        "disabled_at": None,
        "created_at": out["created_at"],
        "secret": out["secret"],
    }
    assert out["secret"].startswith("whsec_") and len(out["secret"]) > 40
    repeat = create(admin, {"url": "https://crm.example.com/hooks", "events": ["tier.changed"]})
    assert (repeat.status_code, repeat.json()) == (200, out)
    other = create(admin, {"url": "https://other.example.com/"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    shown = admin.get(f"/api/v1/webhooks/{out['id']}").json()
    assert "secret" not in shown and shown == {k: v for k, v in out.items() if k != "secret"}
    listed = admin.get("/api/v1/webhooks").json()
    assert listed == {"items": [shown], "page": {"page": 1, "page_size": 50, "total": 1}}
    # the secret is stored encrypted, nowhere in clear
    assert out["secret"] not in repr(table_contents(database))
    with database.session_scope(read_only=True) as session:
        stored = session.scalars(select(WebhookSubscription.secret_enc)).one()
    assert stored.startswith("v2:")


def test_creating_needs_a_key_and_a_chain_admin(admin: Api, database: Database) -> None:
    before = table_contents(database)
    no_key = admin.post("/api/v1/webhooks", {"url": "https://crm.example.com/"})
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    pos = Api(admin.client, make_key(database, "pos"))
    refused = create(pos, {"url": "https://crm.example.com/"})
    assert refused.status_code == 403
    assert pos.get("/api/v1/webhooks").status_code == 403
    after_keys = table_contents(database)
    assert {k: v for k, v in after_keys.items() if k != "api_keys"} == {
        k: v for k, v in before.items() if k != "api_keys"
    }


def test_a_store_bound_admin_key_may_not_manage_webhooks(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    bound = Api(admin.client, make_key(database, "admin", "SH001"))
    before = table_contents(database)
    refused = create(bound, {"url": "https://crm.example.com/"})
    assert refused.status_code == 403
    assert bound.get("/api/v1/webhooks").status_code == 403
    assert table_contents(database) == before


def test_bad_subscriptions_are_refused_and_change_nothing(admin: Api, database: Database) -> None:
    before = table_contents(database)
    for number, body in enumerate(
        [
            {"url": "ftp://crm.example.com/"},
            {"url": "https://user:secret@crm.example.com/"},
            {"url": "https://crm.example.com/", "events": ["order.cancelled"]},
            {"url": "https://crm.example.com/", "extra": 1},
            {"url": ""},
            {},
        ]
    ):
        refused = create(admin, body, key=f"bad-{number}")
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "validation_error"
    credentials = {"url": "https://u:p@x.example/"}
    headers = {"Idempotency-Key": "x", "Accept-Language": "en"}
    english = admin.post("/api/v1/webhooks", credentials, **headers)
    assert english.json()["detail"].endswith("url: the URL must not carry a user name or password.")
    chinese = create(admin, credentials, key="y")
    assert chinese.json()["detail"].endswith("URL 中不得包含用户名或密码。")
    assert table_contents(database) == before


def test_a_url_whose_host_cannot_be_reached_is_refused_and_changes_nothing(
    admin: Api, database: Database
) -> None:
    made = create(admin, {"url": "https://crm.example.com/"}, key="good").json()
    before = table_contents(database)
    for number, url in enumerate(["https://%00/hooks", "https://\u200b/hooks", "http://a..b/"]):
        refused = create(admin, {"url": url}, key=f"host-{number}")
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
        assert refused.json()["detail"].endswith("url: URL 的主机名无效。")
        patched = admin.patch(f"/api/v1/webhooks/{made['id']}", {"url": url})
        assert (patched.status_code, patched.json()["code"]) == (422, "validation_error")
    english = admin.post(
        "/api/v1/webhooks",
        {"url": "https://%00/hooks"},
        **{"Idempotency-Key": "host-en", "Accept-Language": "en"},
    )
    assert english.json()["detail"].endswith("url: the URL's host is not a valid host name.")
    assert table_contents(database) == before


def test_switching_off_and_on_updating_and_deleting(admin: Api, database: Database) -> None:
    made = create(admin, {"url": "https://crm.example.com/"}).json()
    path = f"/api/v1/webhooks/{made['id']}"
    off = admin.patch(path, {"active": False})
    assert off.status_code == 200
    assert (off.json()["active"], off.json()["disabled_reason"]) == (False, "operator")
    assert off.json()["disabled_at"] is not None
    again = admin.patch(path, {"active": False})
    assert again.json() == off.json()  # a repeat changes nothing
    on = admin.patch(
        path, {"active": True, "events": ["order.posted"], "url": "https://b.example/"}
    )
    assert {
        k: on.json()[k] for k in ("active", "disabled_reason", "disabled_at", "events", "url")
    } == {
        "active": True,
        "disabled_reason": None,
        "disabled_at": None,
        "events": ["order.posted"],
        "url": "https://b.example/",
    }
    before = table_contents(database)
    bad = admin.patch(path, {"url": "javascript:alert(1)"})
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    missing = admin.patch("/api/v1/webhooks/999", {"active": False})
    assert (missing.status_code, missing.json()["code"]) == (404, "webhook_not_found")
    assert table_contents(database) == before
    deleted = admin.client.delete(path, headers=admin.headers)
    assert deleted.status_code == 204
    assert admin.get(path).status_code == 404
    assert admin.get("/api/v1/webhooks").json()["items"] == []
    assert admin.client.delete(path, headers=admin.headers).status_code == 404


def test_the_delivery_log_and_a_replay_by_key(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    with receiving(lambda n: 500 if n == 0 else 200) as receiver:
        made = create(admin, {"url": receiver.url, "events": ["order.posted"]}).json()
        assert admin.post("/api/v1/orders", order_body(member["member_no"])).status_code == 201
        drain(database)
        path = f"/api/v1/webhooks/{made['id']}/deliveries"
        log = admin.get(path).json()
        [item] = log["items"]
        assert item == {
            "id": item["id"],
            "event_id": receiver.received[0].event_id,
            "event_type": "order.posted",
            "member_no": member["member_no"],
            "status": "failed",
            "attempts": 1,
            "next_attempt_at": item["next_attempt_at"],
            "last_status_code": 500,
            "last_latency_ms": item["last_latency_ms"],
            "last_error": "HTTP 500",
            "created_at": item["created_at"],
            "delivered_at": None,
        }
        assert admin.get(path, status="delivered").json()["items"] == []
        replay = f"{path}/{item['id']}/replay"
        no_key = admin.post(replay, None)
        assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
        replayed = admin.post(replay, None, **{"Idempotency-Key": "r-1"})
        assert replayed.status_code == 201, replayed.text
        assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 1)
        drain(database)
        repeat = admin.post(replay, None, **{"Idempotency-Key": "r-1"})
        assert (repeat.status_code, repeat.json()) == (200, replayed.json())
        drain(database)  # the repeat replays nothing more
        missing = admin.post(f"{path}/999/replay", None, **{"Idempotency-Key": "r-2"})
        assert (missing.status_code, missing.json()["code"]) == (404, "delivery_not_found")
    assert len(receiver.received) == 2
    done = admin.get(path).json()["items"][0]
    assert (done["status"], done["attempts"], done["next_attempt_at"]) == ("delivered", 2, None)
    detail = admin.get(f"{path}/{item['id']}").json()
    assert {k: v for k, v in detail.items() if k != "attempts_log"} == done
    assert [(a["attempt"], a["status_code"], a["error"]) for a in detail["attempts_log"]] == [
        (1, 500, "HTTP 500"),
        (2, 200, None),
    ]
    assert all(a["latency_ms"] >= 0 and a["at"] for a in detail["attempts_log"])
    other = create(admin, {"url": "https://other.example/"}, key="w-2").json()
    elsewhere = admin.get(f"/api/v1/webhooks/{other['id']}/deliveries/{item['id']}")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "delivery_not_found")


def test_an_order_refused_for_too_few_points_emits_nothing(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    create(admin, {"url": "https://crm.example.com/"})
    before = table_contents(database)
    body = order_body(
        member["member_no"],
        "E-2",
        payments=[{"method": "points", "points": 500}, {"method": "cash", "amount": "55.00"}],
    )
    refused = admin.post("/api/v1/orders", body)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_points")
    assert table_contents(database) == before  # the outbox included


def test_the_worker_inside_the_app_delivers_after_commit(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_poll_seconds", 0.05)
    with receiving() as receiver, TestClient(create_app(scheduler=False, outbox_worker=True)) as c:
        admin = Api(c, make_key(database, "admin"))
        made = create(admin, {"url": receiver.url})
        registered = admin.post("/api/v1/members", {"phone": "13800138000"})
        assert receiver.arrived.wait(10), "the embedded worker sent nothing"
    assert [r.json["type"] for r in receiver.received] == ["member.registered"]
    assert receiver.received[0].json["member_no"] == registered.json()["member_no"]
    assert verify(made.json()["secret"], receiver.received[0])


NOT_PUBLIC = [
    ("http://127.0.0.1:8080/hooks", "127.0.0.1", "回环地址"),
    ("http://127.1/hooks", "127.1 (127.0.0.1)", "回环地址"),
    ("http://0x7f000001/hooks", "0x7f000001 (127.0.0.1)", "回环地址"),
    ("http://[::1]:8080/hooks", "::1", "回环地址"),
    ("http://[::ffff:127.0.0.1]/hooks", "::ffff:127.0.0.1 (127.0.0.1)", "回环地址"),
    ("https://10.1.2.3/hooks", "10.1.2.3", "私有地址"),
    ("https://[fd00::1]/hooks", "fd00::1", "私有地址"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "链路本地地址"),
    ("http://0.0.0.0/", "0.0.0.0", "未指定地址"),
    ("http://224.0.0.1/", "224.0.0.1", "组播地址"),
]


def test_a_url_on_an_address_that_is_not_public_is_refused_and_changes_nothing(
    admin: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a deployment that allows no network beyond the public internet
    monkeypatch.setattr(settings, "webhook_allow_networks", "")
    made = create(admin, {"url": "https://crm.example.com/hooks"}, key="good").json()
    before = table_contents(database)
    # when subscriptions to the machine itself, the private network or the cloud metadata
    # service are made, or an existing one is moved there
    for number, (url, address, kind) in enumerate(NOT_PUBLIC):
        refused = create(admin, {"url": url}, key=f"ssrf-{number}")
        # then each is refused with a code to act on and a reason in the request's language
        assert (refused.status_code, refused.json()["code"]) == (422, "webhook_address_blocked")
        assert refused.json()["detail"] == (
            f"Webhook 不会发送到 {address}：它不是公网地址（{kind}）。接收方位于本部署自己的"
            "网络中时，须先允许该网段（MEMBERKIT_WEBHOOK_ALLOW_NETWORKS）。"
        )
        moved = admin.patch(f"/api/v1/webhooks/{made['id']}", {"url": url})
        assert (moved.status_code, moved.json()["code"]) == (422, "webhook_address_blocked")
    english = admin.post(
        "/api/v1/webhooks",
        {"url": "http://169.254.169.254/latest/meta-data/"},
        **{"Idempotency-Key": "ssrf-en", "Accept-Language": "en"},
    )
    assert english.json()["detail"] == (
        "Webhooks are not sent to 169.254.169.254: it is not a public address (link-local). "
        "A receiver on the deployment's own networks needs them allowed "
        "(MEMBERKIT_WEBHOOK_ALLOW_NETWORKS)."
    )
    assert table_contents(database) == before
    # and a repeat under the same key is still refused, not answered from a stored response
    again = create(admin, {"url": NOT_PUBLIC[0][0]}, key="ssrf-0")
    assert (again.status_code, again.json()["code"]) == (422, "webhook_address_blocked")


def test_an_allowed_network_may_receive_and_only_that_one(
    admin: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "webhook_allow_networks", "10.1.0.0/16")
    inside = create(admin, {"url": "https://10.1.2.3/hooks"}, key="in")
    assert (inside.status_code, inside.json()["url"]) == (201, "https://10.1.2.3/hooks")
    before = table_contents(database)
    for number, url in enumerate(["https://10.2.0.1/", "http://169.254.169.254/"]):
        outside = create(admin, {"url": url}, key=f"out-{number}")
        assert (outside.status_code, outside.json()["code"]) == (422, "webhook_address_blocked")
    assert table_contents(database) == before


def test_a_host_name_is_not_resolved_when_the_subscription_is_made(
    admin: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a name is judged at each attempt, by what it resolves to then
    monkeypatch.setattr(settings, "webhook_allow_networks", "")
    made = create(admin, {"url": "http://localhost:9/hooks"}, key="name")
    assert made.status_code == 201, made.text
