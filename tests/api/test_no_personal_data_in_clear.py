"""No personal data in clear, anywhere: the API's scenarios run against a real ``memberkit
serve`` (access log on), then the database (every table, as raw bytes on SQLite, a full dump
on PostgreSQL) and the server's log are searched for every phone, name, e-mail and birthday
registered, and for the QR tokens used."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import iso, utcnow
from tests.rest import make_key, serving


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A ``memberkit serve`` child process on the test database; yields its URL and log file."""
    log = tmp_path / "server.log"
    with serving(log) as url:
        yield url, log


def _person(number: int) -> dict[str, str]:
    """A person nobody else in the test suite uses: random phone, name, e-mail, birthday."""
    tag = secrets.token_hex(4)
    return {
        "phone": f"13{5 + number}{secrets.randbelow(10**8):08d}",
        "name": f"隐私{tag}",
        "email": f"pii.{tag}@example.com",
        "birthday": f"19{40 + number}-0{number + 1}-1{number}",
    }


def _scenarios(url: str, admin_key: str, pos_key: str) -> list[str]:
    """Run registration, update, orders, refunds, search, events and recharges; return the
    personal values sent and the QR tokens used."""
    admin = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin_key}"})
    pos = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {pos_key}"})
    at = iso(utcnow() - timedelta(hours=1))

    def ok(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    ok(admin.post("/api/v1/stores", json={"code": "PII01", "name": "隐私测试店"}))
    people = [_person(n) for n in range(4)]
    # registration: with a key (and its replay), without, by a store-bound till
    first = ok(admin.post("/api/v1/members", json=people[0], headers={"Idempotency-Key": "r-1"}))
    ok(admin.post("/api/v1/members", json=people[0], headers={"Idempotency-Key": "r-1"}))
    second = ok(
        admin.post("/api/v1/members", json={**people[1], "referrer_member_no": first["member_no"]})
    )
    third = ok(pos.post("/api/v1/members", json=people[2], headers={"Idempotency-Key": "r-3"}))
    refused = admin.post("/api/v1/members", json={"phone": people[1]["phone"]})
    assert refused.status_code == 409
    # update: a new phone, name and e-mail for the first member (the old ones must vanish too)
    ok(
        admin.patch(
            f"/api/v1/members/{first['member_no']}",
            json={key: people[3][key] for key in ("phone", "name", "email")},
        )
    )
    # search: by phone and by QR token, in the URL (masked in the log) and in the body
    tokens = []
    for member in (first, second, third):
        tokens.append(ok(pos.post(f"/api/v1/members/{member['member_no']}/qr-token"))["qr_token"])
    ok(pos.get("/api/v1/members", params={"phone": people[1]["phone"]}))
    ok(pos.get("/api/v1/members", params={"qr_token": tokens[1]}))
    ok(pos.post("/api/v1/members/search", json={"phone": people[3]["phone"]}))
    ok(pos.post("/api/v1/members/search", json={"qr_token": tokens[2]}))
    assert pos.get("/api/v1/members", params={"phone": people[0]["phone"]}).status_code == 404
    # orders: naming the member by number, phone and QR token; then refunds
    lines = [{"sku": "A1", "name": "拿铁", "quantity": 2, "unit_price": "30.00", "amount": "60.00"}]
    naming = [
        {"member_no": first["member_no"]},
        {"phone": people[1]["phone"]},
        {"qr_token": tokens[2]},
    ]
    for number, named in enumerate(naming):
        body = {"external_id": f"PII-{number}", "occurred_at": at, "lines": lines, **named}
        body["payments"] = [{"method": "wechat", "amount": "60.00"}]
        ok(pos.post("/api/v1/orders", json=body))
        ok(pos.post("/api/v1/orders", json=body))  # a replay
    ok(
        pos.post(
            "/api/v1/refunds",
            json={"external_id": "PIIR-1", "order_external_id": "PII-0", "amount": "10.00"},
        )
    )
    ok(pos.post("/api/v1/refunds", json={"external_id": "PIIR-2", "order_external_id": "PII-1"}))
    # events and recharges
    for member in (first, second):
        no = member["member_no"]
        ok(
            pos.post(
                f"/api/v1/members/{no}/events",
                json={"external_id": f"E-{no}", "type": "review", "occurred_at": at},
            )
        )
        recharge = {
            "external_id": f"RC-{no}",
            "amount": "100.00",
            "method": "cash",
            "occurred_at": at,
        }
        ok(pos.post(f"/api/v1/members/{no}/wallet/recharges", json=recharge))
        ok(pos.get(f"/api/v1/members/{no}/ledger"))
    values = [value for person in people for value in person.values()]
    return values + tokens


def _forms(value: str) -> list[bytes]:
    """The ways a value could sit in a file: UTF-8, and escaped as JSON writes non-ASCII."""
    escaped = value.encode("ascii", "backslashreplace").decode().replace("\\u", "\\\\u")
    forms = {value.encode(), value.encode("unicode_escape"), escaped.encode()}
    return sorted(forms)


def _database_bytes(database: Database, tmp_path: Path) -> bytes:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        database.dispose()
        path = Path(str(url.database))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return b"".join(file.read_bytes() for file in files if file.exists())
    dump = b""
    if shutil.which("pg_dump"):
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        dump = subprocess.run(
            ["pg_dump", "--data-only", plain], capture_output=True, check=True
        ).stdout
    with database.engine.connect() as connection:
        names = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        ).scalars()
        for name in list(names):
            rows = connection.execute(text(f'SELECT t::text FROM "{name}" t')).scalars()
            dump += "\n".join(rows).encode()
    return dump


@pytest.mark.real_clock
def test_no_phone_name_email_or_token_is_stored_or_logged_in_clear(
    database: Database, server: tuple[str, Path], tmp_path: Path
) -> None:
    # given a served API, an admin key and a store-bound till key
    url, log = server
    admin_key = make_key(database, "admin")
    # when the API's scenarios run against it
    httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin_key}"}).post(
        "/api/v1/stores", json={"code": "PII00", "name": "x"}
    )
    pos_key = make_key(database, "pos", store="PII00")
    secrets_sent = _scenarios(url, admin_key, pos_key)
    time.sleep(0.2)  # let the server flush its log
    logged = log.read_bytes()
    stored = _database_bytes(database, tmp_path)
    # then the log holds the requests, masked
    assert b"GET /api/v1/members?phone=*** HTTP/1.1" in logged
    assert b"GET /api/v1/members?qr_token=*** HTTP/1.1" in logged
    assert b'POST /api/v1/orders HTTP/1.1" 201' in logged
    # and neither the database nor the log holds any of the values in clear
    assert len(stored) > 10_000
    found = [
        (value, where)
        for value in secrets_sent
        for where, content in (("database", stored), ("log", logged))
        if any(form in content for form in _forms(value))
    ]
    assert found == []
