"""The one statement of the per-request revocation check, outside any transaction."""

from __future__ import annotations

from sqlalchemy import Engine


def key_is_live(engine: Engine, key_id: int) -> bool:
    """Tell whether API key ``key_id`` exists and is not revoked, as committed now.

    Runs on a pooled connection's driver cursor without opening a SQLAlchemy transaction: on
    SQLite that is a plain WAL read that never waits for the write lock (our transactions
    begin with ``BEGIN IMMEDIATE``); on PostgreSQL, one autocommit statement (one round trip,
    no BEGIN and ROLLBACK around it).
    """
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    connection = engine.raw_connection()
    postgresql = engine.dialect.name == "postgresql"
    try:
        if postgresql:
            connection.driver_connection.autocommit = True  # type: ignore[union-attr]
        cursor = connection.cursor()
        try:
            cursor.execute(
                f"SELECT 1 FROM api_keys WHERE id = {marker} AND revoked_at IS NULL",  # noqa: S608
                (key_id,),
            )
            return cursor.fetchone() is not None
        finally:
            cursor.close()
    finally:
        if postgresql:
            connection.driver_connection.autocommit = False  # type: ignore[union-attr]
        connection.close()
