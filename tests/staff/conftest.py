"""Fixtures of staff tests: cheap password hashes, stores, and accounts made through the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memberkit.config import settings
from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.factories import make_store

PASSWORDS = {
    "owner": "owner-pass-2026",
    "admin": "admin-pass-2026",
    "manager": "manager-pass-2026",
    "cashier": "cashier-pass-2026",
}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2id at its lowest costs: the tests check many passwords (tests that time it, not)."""
    monkeypatch.setattr(settings, "password_time_cost", 1)
    monkeypatch.setattr(settings, "password_memory_kib", 8192)
    monkeypatch.setattr(settings, "password_parallelism", 1)
    yield


@pytest.fixture
def staff(database: Database, program: ProgramConfig) -> dict[str, Actor]:
    """Two stores; an owner, an admin, a manager of SH001 and a cashier of SH001."""
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
        made = {
            "owner": ("owner", ()),
            "admin": ("admin", ()),
            "manager": ("store_manager", ("SH001",)),
            "cashier": ("cashier", ("SH001",)),
        }
        for username, (role, stores) in made.items():
            staff_service.create_user(
                session,
                program_id=program.id,
                username=username,
                password=PASSWORDS[username],
                role=role,
                stores=stores,
            )
    return {username: actor(database, program, username) for username in made}


def actor(database: Database, program: ProgramConfig, username: str) -> Actor:
    """The account as the rules see it once signed in."""
    with database.session_scope(read_only=True) as session:
        view = staff_service.get(session, program_id=program.id, username=username)
    return Actor(view.id, view.username, view.role, frozenset(view.stores))
