"""Stored first responses: sealed, replayed in clear, purged after retention; duplicates
stay refused by the business keys after the purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.idempotency import service as idempotency
from memberkit.idempotency.models import IdempotencyRecord
from memberkit.kit.i18n import translate
from memberkit.kit.time import iso, utcnow
from memberkit.order.schemas import OrderIn
from memberkit.program import service as program_service
from tests.rest import Api, order_body, table_contents

REGISTRATION = {
    "phone": "13900139000",
    "name": "李四",
    "birthday": "1991-06-02",
    "email": "lisi@example.com",
}


def records(database: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with database.session_scope() as session:
        return [
            (row.key, row.request_hash, row.response)
            for row in session.execute(
                select(IdempotencyRecord).order_by(IdempotencyRecord.key)
            ).scalars()
        ]


def test_a_registrations_record_holds_no_personal_data_and_replays_in_full(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given a registration with an idempotency key
    first = admin.post("/api/v1/members", REGISTRATION, **{"Idempotency-Key": "reg-1"})
    assert first.status_code == 201, first.text
    # then its stored record shows neither the phone, the name, the birthday nor the e-mail
    [(key, request_hash, response)] = records(database)
    stored = repr((key, request_hash, response))
    for value in REGISTRATION.values():
        assert value not in stored
        assert value.encode("unicode_escape").decode() not in stored
    assert set(response) == {"sealed"} and response["sealed"].startswith("v2:")
    # and a replay returns the whole first response
    again = admin.post("/api/v1/members", REGISTRATION, **{"Idempotency-Key": "reg-1"})
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.json()["phone"] == "13900139000"


def test_a_record_written_before_sealing_still_replays(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    # given a record as the previous version stored it: plain response, plain SHA-256
    first = admin.post("/api/v1/members", REGISTRATION, **{"Idempotency-Key": "reg-1"})
    payload = {**REGISTRATION, "gender": None, "store_code": None, "channel": "store"}
    payload |= {"referrer_member_no": None, "tags": []}
    with database.session_scope() as session:
        session.execute(
            update(IdempotencyRecord).values(
                response=first.json(), request_hash=idempotency._legacy_fingerprint(payload)
            )
        )
    # when the request is repeated
    again = admin.post("/api/v1/members", REGISTRATION, **{"Idempotency-Key": "reg-1"})
    # then it replays
    assert (again.status_code, again.json()) == (200, first.json())


def test_purge_removes_records_past_retention_only(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given two orders, one recorded 31 days ago, one now; retention is 30 days by default
    no = member["member_no"]
    at = iso(utcnow() - timedelta(hours=1))
    for external_id in ("O-OLD", "O-NEW"):
        response = admin.post("/api/v1/orders", order_body(no, external_id, occurred_at=at))
        assert response.status_code == 201
    with database.session_scope() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "order:O-OLD")
            .values(created_at=utcnow() - timedelta(days=31))
        )
    runner = CliRunner()
    # when the purge runs dry, then for real
    dry = runner.invoke(app, ["jobs", "purge-idempotency", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.strip() == "试运行：将清除 1 条幂等记录。"  # worded as every job's dry run
    assert [key for key, _hash, _response in records(database)] == ["order:O-NEW", "order:O-OLD"]
    done = runner.invoke(app, ["jobs", "purge-idempotency"])
    # then only the old record is gone
    assert done.output.strip() == translate("{records} idempotency records purged.", records=1)
    assert [key for key, _hash, _response in records(database)] == ["order:O-NEW"]


def test_retention_is_the_programs_setting(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a record 3 days old and a retention of 2 days
    at = iso(utcnow() - timedelta(hours=1))
    assert (
        admin.post(
            "/api/v1/orders", order_body(member["member_no"], "O-1", occurred_at=at)
        ).status_code
        == 201
    )
    with database.session_scope() as session:
        session.execute(update(IdempotencyRecord).values(created_at=utcnow() - timedelta(days=3)))
    assert (
        admin.patch("/api/v1/program", {"policies": {"idempotency_retention_days": 2}}).status_code
        == 200
    )
    # when the daily jobs run
    from memberkit.scheduler import run_daily

    assert run_daily(database, as_of=utcnow()) == []
    # then the record is purged
    assert records(database) == []


def test_after_the_purge_business_keys_still_refuse_duplicates(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a registration, an order, a refund, a recharge and an event, all recorded
    no = member["member_no"]
    at = iso(utcnow() - timedelta(hours=1))
    requests = [
        ("/api/v1/members", REGISTRATION, {"Idempotency-Key": "reg-1"}, "member_exists"),
        ("/api/v1/orders", order_body(no, "O-1", occurred_at=at), {}, "order_exists"),
        (
            "/api/v1/refunds",
            {"external_id": "RF-1", "order_external_id": "O-1", "amount": "10.00"},
            {},
            "refund_exists",
        ),
        (
            f"/api/v1/members/{no}/wallet/recharges",
            {"external_id": "RC-1", "amount": "100.00", "method": "cash", "occurred_at": at},
            {},
            "recharge_exists",
        ),
        (
            f"/api/v1/members/{no}/events",
            {"external_id": "EV-1", "type": "review", "occurred_at": at},
            {},
            "event_exists",
        ),
    ]
    for path, body, headers, _code in requests:
        assert admin.post(path, body, **headers).status_code == 201, path
    # when the records are purged (as if past retention) and every request is repeated
    with database.session_scope() as session:
        program = program_service.get(session)
        purged = idempotency.purge(
            session, program_id=program.id, before=utcnow() + timedelta(seconds=1)
        )
    assert purged.records == len(requests)
    before = table_contents(database)
    for path, body, headers, code in requests:
        repeat = admin.post(path, body, **headers)
        # then each is refused as a duplicate, and nothing changes
        assert (repeat.status_code, repeat.json()["code"]) == (409, code), path
    assert table_contents(database) == before


def test_after_the_purge_a_repeated_adjustment_or_grant_is_refused_by_its_key(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a hand adjustment and a tier grant, and their idempotency records purged
    no = member["member_no"]
    until = (utcnow() + timedelta(days=60)).date().isoformat()
    requests = [
        (f"/api/v1/members/{no}/points/adjustments", {"points": 100, "reason": "补录"}, "a1"),
        (
            f"/api/v1/members/{no}/tier/grants",
            {"tier": "gold", "until": until, "reason": "VIP"},
            "g1",
        ),
    ]
    for path, body, key in requests:
        assert admin.post(path, body, **{"Idempotency-Key": key}).status_code == 201
    with database.session_scope() as session:
        session.execute(delete(IdempotencyRecord))
    before = table_contents(database)
    # when each is repeated with its key
    repeats = [
        admin.post(path, body, **{"Idempotency-Key": key, "Accept-Language": "en"})
        for path, body, key in requests
    ]
    # then each is refused by its business key, not "please retry", and nothing changed
    assert [(r.status_code, r.json()["code"], r.json()["detail"]) for r in repeats] == [
        (
            409,
            "adjustment_exists",
            f"Adjustment adjust:{no}:a1 of member {no} was made already; see the statement.",
        ),
        (
            409,
            "grant_exists",
            f"Tier grant grant:{no}:g1 of member {no} was made already; see the tier history.",
        ),
    ]
    assert table_contents(database) == before


def test_a_stored_response_moved_to_another_key_is_refused_not_a_500(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given two orders, and the first one's sealed response copied onto the second's record
    no = member["member_no"]
    assert admin.post("/api/v1/orders", order_body(no, "O-1")).status_code == 201
    assert admin.post("/api/v1/orders", order_body(no, "O-2")).status_code == 201
    with database.session_scope() as session:
        rows = session.execute(select(IdempotencyRecord.key, IdempotencyRecord.response))
        records = {key: response for key, response in rows}
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "order:O-2")
            .values(response=records["order:O-1"])
        )
    before = table_contents(database)

    # when the second order is repeated
    again = admin.post("/api/v1/orders", order_body(no, "O-2"))

    # then the bound ciphertext does not open under the other key: a clear 409
    assert (again.status_code, again.json()["code"]) == (409, "stored_response_unreadable")
    assert table_contents(database) == before


def test_the_same_instant_written_with_another_offset_is_a_replay(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order posted with its time in Shanghai's offset
    body = order_body(member["member_no"], "O-OFFSET", occurred_at="2026-11-22T10:00:00+08:00")
    first = admin.post("/api/v1/orders", body)
    assert first.status_code == 201, first.text
    before = table_contents(database)

    # when a retry writes the same moment in UTC, and another in New York's offset
    in_utc = admin.post("/api/v1/orders", {**body, "occurred_at": "2026-11-22T02:00:00Z"})
    in_new_york = admin.post("/api/v1/orders", {**body, "occurred_at": "2026-11-21T21:00:00-05:00"})

    # then both are replays of the first answer, and nothing more was written
    assert (in_utc.status_code, in_utc.json()) == (200, first.json())
    assert (in_new_york.status_code, in_new_york.json()) == (200, first.json())
    assert table_contents(database) == before

    # and another moment under the same key is still a conflict
    later = admin.post("/api/v1/orders", {**body, "occurred_at": "2026-11-22T10:00:01+08:00"})
    assert (later.status_code, later.json()["code"]) == (409, "idempotency_conflict")


def test_a_record_fingerprinted_with_the_offset_as_sent_still_replays(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given an order's record as the previous version fingerprinted it: the time as sent
    body = order_body(member["member_no"], "O-OLD", occurred_at="2026-11-22T10:00:00+08:00")
    first = admin.post("/api/v1/orders", body)
    as_sent = OrderIn.model_validate(body).model_dump(mode="json")
    assert as_sent["occurred_at"].endswith("+08:00")
    with database.session_scope() as session:
        session.execute(
            update(IdempotencyRecord).values(request_hash=idempotency.fingerprint(as_sent))
        )

    # when it is repeated as it was sent, then it replays
    again = admin.post("/api/v1/orders", body)
    assert (again.status_code, again.json()) == (200, first.json())
