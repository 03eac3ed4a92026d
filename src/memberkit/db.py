"""Engine, sessions and the unit of work.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` and takes the write
lock at ``BEGIN IMMEDIATE``, so transactions on it are serialized: one writer at a time.
PostgreSQL serializes work on one member with a row lock (``SELECT … FOR UPDATE``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, MetaData, Table, create_engine, event, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from memberkit.config import settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING)


def table(model: type[Base]) -> Table:
    """Return a model's Core table: hot-path statements skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the durability and locking settings described above."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 60}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_recycle=1800,
        connect_args={"options": "-c synchronous_commit=on -c timezone=UTC"},
        **kwargs,
    )


class Database:
    """An engine with its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def session_scope(self, *, rollback: bool = False) -> Iterator[Session]:
        """One unit of work: commit when the block ends, roll back if it raises.

        With ``rollback`` the work is always rolled back: a job's dry run does the real work
        and keeps none of it, so what it reports is what the run would do.
        """
        session = self.sessions()
        try:
            yield session
            if rollback:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


_database: Database | None = None


def get_database() -> Database:
    """Return the process's database for the configured URL, created on first use."""
    global _database
    url = settings.resolved_database_url
    if _database is None or _database.url != url:
        database_path = make_url(url).database
        if url.startswith("sqlite") and database_path and database_path != ":memory:":
            Path(database_path).parent.mkdir(parents=True, exist_ok=True)
        _database = Database(url)
    return _database
