"""Store writes, and the reads a store's use cases decide on."""

from __future__ import annotations

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.store.models import Store


def by_code(session: Session, *, program_id: int, code: str) -> Store | None:
    """Return the program's store with code ``code``, if any."""
    return session.scalars(
        select(Store).where(Store.program_id == program_id, Store.code == code)
    ).one_or_none()


_stores = table(Store)
_ACTIVE_BY_CODE = select(_stores.c.id, _stores.c.active).where(
    _stores.c.program_id == bindparam("program_id"), _stores.c.code == bindparam("code")
)


def id_and_active(session: Session, *, program_id: int, code: str) -> Row[int, bool] | None:
    """Return (id, active) of the store with code ``code``; one statement built once."""
    return (
        session.connection()
        .execute(_ACTIVE_BY_CODE, {"program_id": program_id, "code": code})
        .one_or_none()
    )


def add(session: Session, *, store: Store) -> Store:
    """Insert a new store and return it with its id."""
    session.add(store)
    session.flush()
    return store


def lock_by_code(session: Session, *, program_id: int, code: str) -> Store | None:
    """Return the program's store with code ``code``, locked for a change, if any."""
    return session.scalars(
        select(Store).where(Store.program_id == program_id, Store.code == code).with_for_update()
    ).one_or_none()


def save(session: Session, *, store: Store) -> Store:
    """Write a changed store."""
    session.flush()
    return store
