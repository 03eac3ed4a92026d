"""What the REST API's tests share: the real app in a TestClient, API keys, the contract's
order, every table's contents, a served app, and the clock standing at :data:`API_NOW`.

``tests/conftest.py`` offers the fixtures to every test, with the clock at :data:`API_NOW` for
each domain's endpoint tests (``test_endpoints*.py``); the conftests of ``tests/api`` and
``tests/webhook`` put it there for all their tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from fastapi.testclient import TestClient

from memberkit.app import create_app
from memberkit.auth import service as auth_service
from memberkit.config import settings
from memberkit.db import Database
from memberkit.program import service as program_service


def make_key(
    database: Database, scope: str, store: str | None = None, *, name: str | None = None
) -> str:
    """Create an API key and return it."""
    with database.session_scope() as session:
        program = program_service.get(session)
        return auth_service.create(
            session,
            program_id=program.id,
            name=name or f"test-{scope}",
            scope=scope,
            store_code=store,
        )


class Api:
    """A TestClient that sends a key and JSON."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def post(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(path, json=body, headers={**self.headers, **headers})

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.client.patch(path, json=body, headers={**self.headers, **headers})

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers)


#: The moment API tests run at (the clock ticks on from it): the contract's example order is
#: dated a day earlier, well within the live bound on back-dating.
API_NOW = datetime.fromisoformat("2026-11-23T12:00:00+08:00")


def _travel(request: pytest.FixtureRequest) -> Iterator[time_machine.Coordinates | None]:
    if request.node.get_closest_marker("real_clock"):
        yield None
        return
    with time_machine.travel(API_NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True, name="clock")
def clock_for_every_test(
    request: pytest.FixtureRequest,
) -> Iterator[time_machine.Coordinates | None]:
    """Put the process's clock at :data:`API_NOW`; ``clock.move_to(when)`` travels.

    For a folder whose tests all live at that moment (``tests/api``, ``tests/webhook``). Tests
    marked ``real_clock`` (those that talk to a server in another process, whose clock does
    not travel) keep the real time.
    """
    yield from _travel(request)


@pytest.fixture(autouse=True, name="clock")
def clock_for_endpoint_tests(
    request: pytest.FixtureRequest,
) -> Iterator[time_machine.Coordinates | None]:
    """The clock of :func:`clock_for_every_test` for a domain's endpoint tests
    (``test_endpoints*.py``) only: the domain's rules and service tests beside them keep the
    real time."""
    if not request.path.name.startswith("test_endpoints"):
        yield None
        return
    yield from _travel(request)


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    with TestClient(create_app(scheduler=False)) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, database: Database) -> Api:
    return Api(client, make_key(database, "admin"))


@pytest.fixture
def store(admin: Api) -> dict[str, Any]:
    response = admin.post(
        "/api/v1/stores",
        {"code": "SH001", "name": "上海南京东路店", "type": "direct", "city": "上海"},
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def member(admin: Api, store: dict[str, Any]) -> dict[str, Any]:
    response = admin.post(
        "/api/v1/members",
        {"phone": "13800138000", "name": "张三", "birthday": "1990-05-01", "store_code": "SH001"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def order_body(
    member_no: str, external_id: str = "POS-SH001-000123", **overrides: Any
) -> dict[str, Any]:
    """The contract's example order, with overrides."""
    body = {
        "external_id": external_id,
        "member_no": member_no,
        "store_code": "SH001",
        "channel": "store",
        "occurred_at": "2026-11-22T10:00:00+08:00",
        "lines": [
            {
                "sku": "A1",
                "name": "拿铁",
                "category": "coffee",
                "quantity": 2,
                "unit_price": "30.00",
                "amount": "60.00",
            }
        ],
        "payments": [{"method": "wechat", "amount": "60.00"}],
    }
    body.update(overrides)
    return body


def table_contents(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: a refusal must leave all of them exactly as they were."""
    from sqlalchemy import select

    from memberkit.db import Base

    with database.session_scope() as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(log: Path) -> Iterator[str]:
    """Run ``memberkit serve`` (uvicorn over ``create_app``) on the test database in a child
    process, its output in ``log``; yields its URL once it answers, and stops it after."""
    port = _free_port()
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": settings.resolved_database_url,
        "MEMBERKIT_SECRET_KEY": settings.secret_key,
        "MEMBERKIT_DATA_DIR": str(settings.data_dir),
        "MEMBERKIT_SCHEDULER": "false",
    }
    command = [str(Path(sys.executable).with_name("memberkit")), "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                raise AssertionError(log.read_text())
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)
