"""Stores: create, change, list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from memberkit.errors import Conflict, NotFound
from memberkit.kit.i18n import _
from memberkit.store import queries, repository
from memberkit.store.models import Store, StoreType


class StoreNotFound(NotFound):
    """No store with that code."""

    code = "store_not_found"
    message = _("No store with code {store_code}.")


class StoreInactive(Conflict):
    """The store is closed for business."""

    code = "store_inactive"
    message = _("Store {store_code} is not active.")


class StoreExists(Conflict):
    """A store code is taken."""

    code = "store_exists"
    message = _("A store with code {store_code} already exists.")


def get(session: Session, *, program_id: int, code: str) -> Store:
    """Return a store by code or raise :class:`StoreNotFound`."""
    store = repository.by_code(session, program_id=program_id, code=code)
    if store is None:
        raise StoreNotFound(store_code=code)
    return store


def code_of(session: Session, *, store_id: int) -> str | None:
    """Return the code of the store with this id (None if there is none)."""
    return queries.code_of(session, store_id=store_id)


def active_store_id(session: Session, *, program_id: int, code: str) -> int:
    """Return the id of an active store by code; refuse unknown and inactive stores."""
    row = repository.id_and_active(session, program_id=program_id, code=code)
    if row is None:
        raise StoreNotFound(store_code=code)
    if not row.active:
        raise StoreInactive(store_code=code)
    return int(row.id)


def create(
    session: Session,
    *,
    program_id: int,
    code: str,
    name: str,
    type: StoreType,
    city: str,
    active: bool = True,
    opened_at: datetime | None = None,
) -> tuple[Store, bool]:
    """Create a store; returns (store, created); ``opened_at`` dates it (default: now).

    Creating the same store again (same code, same content) is a no-op that returns it;
    the same code with other content is refused with :class:`StoreExists`.
    """
    existing = repository.by_code(session, program_id=program_id, code=code)
    if existing is not None:
        same = (existing.name, existing.type, existing.city, existing.active) == (
            name,
            type,
            city,
            active,
        )
        if same:
            return existing, False
        raise StoreExists(store_code=code)
    store = Store(program_id=program_id, code=code, name=name, type=type, city=city, active=active)
    if opened_at is not None:  # history (the demo): a store opened before its first order
        store.created_at = store.updated_at = opened_at
    return repository.add(session, store=store), True


def _locked(session: Session, *, program_id: int, code: str) -> Store:
    store = repository.lock_by_code(session, program_id=program_id, code=code)
    if store is None:
        raise StoreNotFound(store_code=code)
    return store


def change(
    session: Session, *, program_id: int, code: str, name: str, type: StoreType, city: str
) -> Store:
    """Change a store's name, type and city (its code never changes); the same again is a no-op."""
    store = _locked(session, program_id=program_id, code=code)
    if (store.name, store.type, store.city) != (name, type, city):
        store.name, store.type, store.city = name, type, city
        repository.save(session, store=store)
    return store


def set_active(session: Session, *, program_id: int, code: str, active: bool) -> Store:
    """Open or close a store for business; members and history stay. Setting it again: a no-op.

    A closed store takes no new orders, recharges or members (``active_store_id`` refuses it).
    """
    store = _locked(session, program_id=program_id, code=code)
    if store.active != active:
        store.active = active
        repository.save(session, store=store)
    return store


#: The listing of stores (total, page), ordered by code.
listing = queries.listing
