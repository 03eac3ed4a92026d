"""Test fixtures: a real database (SQLite file, or PostgreSQL when
MEMBERKIT_TEST_DATABASE_URL is set) whose schema is built by running the migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from memberkit import migrate, pipeline
from memberkit.auth import service as auth_service
from memberkit.config import configure
from memberkit.db import Base, Database, get_database
from memberkit.kit import cache
from memberkit.ledger import repository as ledger_repository
from memberkit.program import service as program_service
from tests.rest import admin, client, clock_for_endpoint_tests, member, store

#: The REST API's fixtures, for each domain's endpoint tests (see ``tests/rest.py``).
__all__ = ["admin", "client", "clock_for_endpoint_tests", "member", "store"]

POSTGRES_URL = os.environ.get("MEMBERKIT_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests when the suite runs on SQLite."""
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="needs MEMBERKIT_TEST_DATABASE_URL (PostgreSQL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Create a fresh database for this test run and drop it afterwards."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'memberkit.db'}"
        return
    name = f"memberkit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        pipeline.BACKGROUND.settle()
        get_database().dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The migrated test database, configured as the process's database."""
    data_dir: Path = tmp_path_factory.mktemp("data")
    configure(
        database_url=database_url,
        data_dir=str(data_dir),
        secret_key="test-secret-key-not-for-production",
        scheduler=False,
        outbox_worker=False,
    )
    db = get_database()
    migrate.upgrade(db.engine)
    return db


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Give every database test empty tables and the default program."""
    if "database" not in request.fixturenames:
        yield
        return
    db: Database = request.getfixturevalue("database")
    _reset(db)
    yield


def _reset(db: Database) -> None:
    # After-commit work still queued from the last test would write into this one's tables.
    pipeline.BACKGROUND.settle()
    program_service.forget_cache()
    ledger_repository.forget_cached_accounts()
    auth_service.forget_cache()
    cache.forget_all()
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
    with db.session_scope() as session:
        program_service.ensure_default(session)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    """A unit of work committed at the end of the test (use for given/then steps)."""
    with database.session_scope() as s:
        yield s


@pytest.fixture
def program(database: Database) -> program_service.ProgramConfig:
    """The default program's configuration."""
    with database.session_scope() as s:
        return program_service.get(s)


def set_rules(database: Database, **changes: object) -> program_service.ProgramConfig:
    """Change the default program's settings (earning_rules, points_validity, …)."""
    with database.session_scope() as s:
        config = program_service.get(s)
        return program_service.configure(s, program=config, **changes)  # type: ignore[arg-type]
