"""Engine, sessions and the unit of work.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL``. A unit of work that
may write takes the write lock at ``BEGIN IMMEDIATE``, so writers are serialized: one at a
time. Within a process they queue for it in arrival order (:class:`WriteQueue`) instead of
polling SQLite's busy lock, which lets late arrivals overtake and starves the unlucky ones.
Read-only units of work (:meth:`Database.session_scope` with ``read_only``) begin deferred and
never wait for writers (WAL readers see the last commit). PostgreSQL serializes work on one
member with a row lock (``SELECT … FOR UPDATE``); its read-only units of work begin ``READ
ONLY``. A unit of work that waits longer than ``settings.lock_timeout`` for a lock fails with
:class:`DatabaseBusy` (or a driver error that :func:`is_busy` recognises): retrying is safe.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import QueuePool

from memberkit.config import settings
from memberkit.errors import MemberkitError
from memberkit.kit.i18n import _

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


def peek(engine: Engine, sql: str, *params: Any) -> tuple[Any, ...] | None:
    """Run one small read outside any transaction and return its first row.

    ``sql`` uses ``?`` for parameters. On a pooled connection's driver cursor, with no
    SQLAlchemy transaction: on SQLite a plain WAL read that never waits for the write lock (our
    transactions begin with ``BEGIN IMMEDIATE``); on PostgreSQL one autocommit statement (one
    round trip, no BEGIN and ROLLBACK around it). For per-request checks of what other
    processes may have changed (a revoked key, new settings).
    """
    if engine.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    connection = engine.raw_connection()
    postgresql = engine.dialect.name == "postgresql"
    try:
        if postgresql:
            connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            return tuple(row) if row is not None else None
        finally:
            cursor.close()
    finally:
        if postgresql:
            connection.driver_connection.autocommit = False  # type: ignore[union-attr]
        connection.close()


def table(model: type[Base]) -> Table:
    """Return a model's Core table: hot-path statements skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


#: SQLite's page cache for a bulk load, in KiB (its default is 2 MiB): the orders' indexes are
#: written in random order, and a batch's pages stay in memory instead of being read again.
BULK_CACHE_KIB = 262_144


@contextmanager
def bulk_cache(session: Session) -> Iterator[None]:
    """On SQLite, a large page cache for the session's connection while the block runs."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before or -2000)}")


def bulk_insert(
    connection: Connection, target: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) by the driver's fastest path.

    For bulk loads (the history import): PostgreSQL's ``COPY … FROM STDIN``, SQLite's
    ``executemany`` of one prepared statement, both inside the connection's transaction. The
    columns' own bind processing (UTC datetimes) is applied, nothing else: no defaults, no
    RETURNING, so every column without a server default must be given.
    """
    if not rows:
        return
    dialect = connection.dialect
    processors = [target.c[name].type._cached_bind_processor(dialect) for name in columns]
    wanted = [(i, p) for i, p in enumerate(processors) if p is not None]
    if wanted:
        prepared: list[Sequence[Any]] = []
        for row in rows:
            values = list(row)
            for i, process in wanted:
                values[i] = process(values[i])
            prepared.append(values)
        rows = prepared
    names = ", ".join(columns)
    raw = connection.connection
    if dialect.name == "postgresql":
        cursor = raw.cursor()
        try:
            with cursor.copy(f"COPY {target.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO {target.name} ({names}) VALUES ({marks})", rows)  # noqa: S608
    finally:
        cursor.close()


def insert_ready(
    connection: Connection, target: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` already in the driver's form, by its fastest path (as :func:`bulk_insert`).

    No bind processing at all: the caller gives what the driver takes (on SQLite a UTC time is
    the text SQLAlchemy would store, ``2019-05-01 02:00:00.000000``; on PostgreSQL a datetime).
    """
    names = ", ".join(columns)
    cursor = connection.connection.cursor()
    sql = ""
    try:
        if connection.dialect.name == "postgresql":
            sql = f"COPY {target.name} ({names}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(sql) as copy:
                copy.set_types([_pg_type(target.c[name].type) for name in columns])
                write = copy.write_row
                for row in rows:
                    write(row)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {target.name} ({names}) VALUES ({marks})"  # noqa: S608
            cursor.executemany(sql, rows)
    except connection.dialect.loaded_dbapi.IntegrityError as exc:
        # As SQLAlchemy would raise it: a key a concurrent request took between our check and
        # our write is a 409 concurrent_change (a retry finds the rows already present).
        raise IntegrityError(sql, None, exc) from exc
    finally:
        cursor.close()


def _pg_type(column_type: Any) -> str:
    """The PostgreSQL type name psycopg's binary COPY dumps a column's values as."""
    kind = getattr(column_type, "impl", column_type)
    if isinstance(kind, BigInteger):
        return "int8"
    if isinstance(kind, Integer):
        return "int4"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"no binary COPY type for {column_type!r}")


def in_values(connection: Connection, values: Sequence[str]) -> tuple[str, Any]:
    """``IN`` over many values with one parameter, for :func:`driver_rows`: SQL and its value.

    A PostgreSQL array (``= ANY(?)``), or on SQLite a JSON array read by ``json_each``: one
    parameter however many values, so neither SQLAlchemy nor the server compiles a list of
    10,000 placeholders.
    """
    if connection.dialect.name == "postgresql":
        return "= ANY(?)", list(values)
    return "IN (SELECT value FROM json_each(?))", json.dumps(list(values))


def driver_rows(connection: Connection, sql: str, params: Sequence[Any] = ()) -> Sequence[Any]:
    """Run ``sql`` (``?`` marks its parameters) on the driver's cursor, in the transaction."""
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


class DatabaseBusy(MemberkitError):
    """A lock was not granted within ``settings.lock_timeout``; nothing was changed."""

    status = 503
    code = "database_busy"
    message = _("The database is busy; nothing was changed. Please retry in a moment.")


#: Seconds a client is asked to wait before retrying a request refused as busy.
RETRY_AFTER_SECONDS = 1
#: Execution option of read-only units of work on SQLite: they begin deferred.
_READ_ONLY = "memberkit_read_only"
#: PostgreSQL conditions where waiting ended without a decision: retrying is safe.
_PG_RETRYABLE = {"55P03", "40P01", "40001"}  # lock_not_available, deadlock, serialization


class WriteQueue:
    """A lock granted in arrival order: each release hands it to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lock; return whether it was granted."""
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._mutex:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over between the timeout and the mutex: it is ours now

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


def is_busy(exc: BaseException) -> bool:
    """Tell whether ``exc`` means a lock or pooled connection was not granted in time."""
    if isinstance(exc, DatabaseBusy | PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    original = exc.orig
    if isinstance(original, sqlite3.OperationalError):
        return getattr(original, "sqlite_errorcode", None) in (
            sqlite3.SQLITE_BUSY,
            sqlite3.SQLITE_LOCKED,
        ) or "locked" in str(original)
    return getattr(original, "sqlstate", None) in _PG_RETRYABLE


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    timeout_ms = int(settings.lock_timeout * 1000)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": settings.lock_timeout},
        pool_size=settings.threads,
        max_overflow=0,
        pool_timeout=settings.lock_timeout,
        **kwargs,
    )
    writers = WriteQueue()
    #: The DBAPI connection whose transaction holds the write queue (one at a time).
    holder: list[Any] = [None]

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        if not writers.acquire(settings.lock_timeout):
            raise DatabaseBusy()
        holder[0] = connection.connection.dbapi_connection
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _leave_write_queue(connection.connection)
            raise

    def _leave_write_queue(proxied: Any) -> None:
        # Only the holder's own thread ends its transaction, so this test cannot race.
        if holder[0] is not None and holder[0] is proxied.dbapi_connection:
            holder[0] = None
            writers.release()

    # The queue is left once COMMIT or ROLLBACK has returned: releasing it from the ``commit``
    # event (which runs before) would let the next writer meet SQLite's busy lock and poll.
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def _do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _leave_write_queue(dbapi_connection)

    def _do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _leave_write_queue(dbapi_connection)

    dialect.do_commit = _do_commit  # type: ignore[method-assign]
    dialect.do_rollback = _do_rollback  # type: ignore[method-assign]
    return engine


def _sqlite_reader(url: str) -> Engine:
    """An engine that opens the SQLite file read-only: ``mode=ro`` and ``PRAGMA query_only``."""
    path = Path(make_url(url).database or "").resolve()
    timeout_ms = int(settings.lock_timeout * 1000)

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(
            f"{path.as_uri()}?mode=ro",
            uri=True,
            check_same_thread=False,
            timeout=settings.lock_timeout,
        )

    engine = create_engine(
        "sqlite://",
        creator=connect,
        poolclass=QueuePool,
        pool_size=min(8, settings.threads),
        max_overflow=0,
        pool_timeout=settings.lock_timeout,
    )

    @event.listens_for(engine, "connect")
    def _reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute(f"PRAGMA busy_timeout={timeout_ms}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _reader_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the durability and locking settings described above.

    The pool holds a connection for every request thread (``settings.threads``), so no request
    waits for a connection while another holds one idle.
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    timeout_ms = int(settings.lock_timeout * 1000)
    return create_engine(
        url,
        pool_size=min(10, settings.threads),
        max_overflow=max(0, settings.threads - 10),
        pool_timeout=settings.lock_timeout,
        pool_recycle=1800,
        connect_args={
            "options": f"-c synchronous_commit=on -c timezone=UTC -c lock_timeout={timeout_ms}"
        },
        **kwargs,
    )


def read_only(engine: Engine) -> Engine:
    """The engine's pool for reads: no write lock on SQLite, ``READ ONLY`` on PostgreSQL."""
    options = (
        {"postgresql_readonly": True} if engine.dialect.name == "postgresql" else {_READ_ONLY: True}
    )
    return engine.execution_options(**options)


class Database:
    """An engine with its session factories: one for units of work, one for reads only."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        #: The same pool, for reads: no write lock on SQLite, ``READ ONLY`` on PostgreSQL.
        self.read_engine = read_only(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.read_sessions = sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)

    @contextmanager
    def session_scope(
        self, *, read_only: bool = False, rollback: bool = False
    ) -> Iterator[Session]:
        """One unit of work: commit when the block ends, roll back if it raises.

        ``read_only`` scopes must not write: on SQLite they do not take the write lock, on
        PostgreSQL a write in one fails. With ``rollback`` the work is always rolled back: a
        job's dry run does the real work and keeps none of it, so what it reports is what the
        run would do.
        """
        session = (self.read_sessions if read_only else self.sessions)()
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

    @cached_property
    def analytics_engine(self) -> Engine:
        """The engine reports read with: never one that can write or hold the write lock.

        ``settings.analytics_database_url`` when set (a read replica); else on SQLite an
        engine of its own over the same file opened ``mode=ro`` with ``PRAGMA query_only``,
        whose transactions are plain deferred ``BEGIN`` (a WAL snapshot: no writer waits for
        it, and it waits for none); else the main pool's ``READ ONLY`` transactions.
        """
        url = settings.analytics_database_url
        if url:
            if url.startswith("sqlite"):
                return _sqlite_reader(url)
            return make_engine(url).execution_options(postgresql_readonly=True)
        if self.engine.dialect.name == "sqlite" and make_url(self.url).database not in (
            None,
            "",
            ":memory:",
        ):
            return _sqlite_reader(self.url)
        return self.read_engine

    @contextmanager
    def analytics_scope(self) -> Iterator[Session]:
        """A read-only unit of work on :attr:`analytics_engine`, for reports' heavy reads."""
        session = Session(self.analytics_engine, expire_on_commit=False, autoflush=False)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if "analytics_engine" in self.__dict__ and self.analytics_engine is not self.read_engine:
            self.analytics_engine.dispose()


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
